/**
 * GPX and CSV import: valid files give typed points and rows; malformed or
 * invalid input gives a ClientError whose code, line and field say what and
 * where — never half a file.
 */
import { describe, expect, it } from 'vitest'
import { exercisePlain, locationPlains, parseGpx, parseStepsCsv } from '../src/index.js'
import { refusal } from './refusal.js'

const GPX = `<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="phone" xmlns="http://www.topografix.com/GPX/1/1">
  <wpt lat="1" lon="1"><name>not movement</name></wpt>
  <trk>
    <name>Morning walk</name>
    <trkseg>
      <trkpt lat="52.520008" lon="13.404954"><ele>34</ele><time>2025-05-01T06:00:00Z</time><hdop>2</hdop></trkpt>
      <trkpt lat="52.520100" lon="13.405100"><time>2025-05-01T08:00:05+02:00</time></trkpt>
    </trkseg>
    <trkseg>
      <trkpt lat="-33.8688" lon="151.2093"><time>2025-05-01T06:01:00.250Z</time></trkpt>
    </trkseg>
  </trk>
</gpx>`

describe('GPX', () => {
  it('reads every track point with its time and an accuracy in metres, GPX 1.1 and 1.0', () => {
    const track = parseGpx(GPX)
    expect(track.name).toBe('Morning walk')
    expect(track.points).toEqual([
      { lat: 52.520008, lon: 13.404954, accuracy: 10, time: Date.parse('2025-05-01T06:00:00Z') },
      { lat: 52.5201, lon: 13.4051, accuracy: 20, time: Date.parse('2025-05-01T06:00:05Z') },
      { lat: -33.8688, lon: 151.2093, accuracy: 20, time: Date.parse('2025-05-01T06:01:00.250Z') }
    ])
    expect(parseGpx(GPX, { defaultAccuracy: 50, metresPerHdop: 3 }).points.map((p) => p.accuracy)).toEqual([6, 50, 50])
    const v10 = parseGpx('<gpx version="1.0" xmlns="http://www.topografix.com/GPX/1/0"><trk><trkseg><trkpt lat="1" lon="2"><time>2025-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>')
    expect(v10.points).toHaveLength(1)
    // The points fit core's location segments as they are.
    expect(locationPlains(parseGpx(GPX).points)[0]!.points.map((p) => p.time)).toEqual([
      Date.parse('2025-05-01T06:00:00Z'), Date.parse('2025-05-01T06:00:05Z'), Date.parse('2025-05-01T06:01:00.250Z')
    ])
  })

  it('refuses XML that is not well-formed, naming the line', () => {
    const broken = refusal(() => parseGpx('<gpx>\n<trk>\n<trkseg>\n<trkpt lat="1" lon="2"></trk>\n</gpx>'))
    expect(broken).toMatchObject({ code: 'IMPORT_MALFORMED', line: 4 })
    expect(refusal(() => parseGpx(''))).toMatchObject({ code: 'IMPORT_MALFORMED' })
    expect(refusal(() => parseGpx('just text'))).toMatchObject({ code: 'IMPORT_MALFORMED' })
    // Entities are not resolved (no external entities, no expansion): an undeclared one is an error.
    expect(refusal(() => parseGpx('<gpx>\n<trk>&secret;</trk></gpx>'))).toMatchObject({ code: 'IMPORT_MALFORMED', line: 2 })
    expect(refusal(() => parseGpx('<kml><Document/></kml>'))).toMatchObject({ code: 'IMPORT_MALFORMED', line: 1 })
  })

  it('refuses a track point with a missing or bad field, naming its line and field', () => {
    const point = (attrs: string, inner: string): string => `<gpx version="1.1">\n<trk><trkseg>\n<trkpt lat="1" lon="1"><time>2025-01-01T00:00:00Z</time></trkpt>\n<trkpt ${attrs}>${inner}</trkpt>\n</trkseg></trk></gpx>`
    const time = '<time>2025-01-01T00:00:01Z</time>'
    expect(refusal(() => parseGpx(point('lon="1"', time)))).toMatchObject({ code: 'IMPORT_INVALID', line: 4, field: 'trkpt.1.lat' })
    expect(refusal(() => parseGpx(point('lat="91" lon="1"', time)))).toMatchObject({ code: 'IMPORT_INVALID', line: 4, field: 'trkpt.1.lat' })
    expect(refusal(() => parseGpx(point('lat="1" lon="east"', time)))).toMatchObject({ code: 'IMPORT_INVALID', line: 4, field: 'trkpt.1.lon' })
    expect(refusal(() => parseGpx(point('lat="1" lon="1"', '')))).toMatchObject({ code: 'IMPORT_INVALID', line: 4, field: 'trkpt.1.time' })
    expect(refusal(() => parseGpx(point('lat="1" lon="1"', '<time>2025-01-01T00:00:01</time>')))).toMatchObject({ code: 'IMPORT_INVALID', field: 'trkpt.1.time' })
    expect(refusal(() => parseGpx(point('lat="1" lon="1"', '<time>yesterday</time>')))).toMatchObject({ code: 'IMPORT_INVALID', field: 'trkpt.1.time' })
    expect(refusal(() => parseGpx(point('lat="1" lon="1"', '<time>1970-01-01T00:00:00Z</time>')))).toMatchObject({ code: 'IMPORT_INVALID', field: 'trkpt.1.time' })
    expect(refusal(() => parseGpx(point('lat="1" lon="1"', `${time}<hdop>-1</hdop>`)))).toMatchObject({ code: 'IMPORT_INVALID', line: 4, field: 'trkpt.1.hdop' })
    expect(refusal(() => parseGpx('<gpx><trk><trkseg/></trk></gpx>'))).toMatchObject({ code: 'IMPORT_EMPTY' })
  })
})

describe('steps CSV', () => {
  it('reads rows with required and optional columns in any order, quoted cells, a BOM, epoch milliseconds', () => {
    const text = '\uFEFFSteps, start ,END,distance_m,heart_rate_bpm\n' +
      '1200,2025-05-01T06:00:00Z,2025-05-01T07:00:00Z,950.5,\n' +
      '\n' +
      `"80",${Date.parse('2025-05-01T07:00:00Z')},"2025-05-01T09:00:00+02:00",,72\n`
    const rows = parseStepsCsv(text)
    expect(rows).toEqual([
      { start: Date.parse('2025-05-01T06:00:00Z'), end: Date.parse('2025-05-01T07:00:00Z'), steps: 1200, distance: 950.5, line: 2 },
      { start: Date.parse('2025-05-01T07:00:00Z'), end: Date.parse('2025-05-01T07:00:00Z'), steps: 80, heartRate: 72, line: 4 }
    ])
    // Each row is an exercise entry's plain segment as it is.
    expect(exercisePlain(rows[0]!).observations).toEqual([{ code: '55423-8', value: 1200, unit: '{steps}' }, { code: '55430-3', value: 950.5, unit: 'm' }])
  })

  it('refuses CSV syntax errors, naming the line', () => {
    expect(refusal(() => parseStepsCsv('start,end,steps\n2025-05-01T06:00:00Z,"2025-05-01T07:00:00Z,1\n'))).toMatchObject({ code: 'IMPORT_MALFORMED', line: 2 })
    expect(refusal(() => parseStepsCsv('start,end,steps\n2025-05-01T06:00:00Z,2025-05-01T07:00:00Z,1,extra\n'))).toMatchObject({ code: 'IMPORT_MALFORMED', line: 2 })
  })

  it('refuses a bad header or cell, naming the line and the column', () => {
    const header = 'start,end,steps'
    const ok = '2025-05-01T06:00:00Z,2025-05-01T07:00:00Z,10'
    expect(refusal(() => parseStepsCsv('start,steps\n2025-05-01T06:00:00Z,1'))).toMatchObject({ code: 'IMPORT_INVALID', line: 1, field: 'end' })
    expect(refusal(() => parseStepsCsv('start,end,steps,distance_km\n2025-05-01T06:00:00Z,2025-05-01T07:00:00Z,1,2'))).toMatchObject({ code: 'IMPORT_INVALID', line: 1, field: 'distance_km' })
    expect(refusal(() => parseStepsCsv('start,end,steps,steps\n1,2,3,4'))).toMatchObject({ code: 'IMPORT_INVALID', line: 1, field: 'steps' })
    expect(refusal(() => parseStepsCsv(`${header}\n${ok}\n2025-05-01T07:00:00,2025-05-01T08:00:00Z,10`))).toMatchObject({ code: 'IMPORT_INVALID', line: 3, field: 'start' })
    expect(refusal(() => parseStepsCsv(`${header}\n${ok}\n2025-05-01T08:00:00Z,2025-05-01T07:00:00Z,10`))).toMatchObject({ code: 'IMPORT_INVALID', line: 3, field: 'end' })
    expect(refusal(() => parseStepsCsv(`${header}\n${ok}\n2025-05-01T07:00:00Z,2025-05-01T08:00:00Z,12.5`))).toMatchObject({ code: 'IMPORT_INVALID', line: 3, field: 'steps' })
    expect(refusal(() => parseStepsCsv(`${header}\n${ok}\n2025-05-01T07:00:00Z,2025-05-01T08:00:00Z,`))).toMatchObject({ code: 'IMPORT_INVALID', line: 3, field: 'steps' })
    expect(refusal(() => parseStepsCsv(`${header}\n${ok}\n2025-05-01T07:00:00Z,2025-05-01T08:00:00Z,0x10`))).toMatchObject({ code: 'IMPORT_INVALID', line: 3, field: 'steps' })
    expect(refusal(() => parseStepsCsv(`${header},heart_rate_bpm\n${ok},900`))).toMatchObject({ code: 'IMPORT_INVALID', line: 2, field: 'heart_rate_bpm' })
    expect(refusal(() => parseStepsCsv(''))).toMatchObject({ code: 'IMPORT_EMPTY' })
    expect(refusal(() => parseStepsCsv(`${header}\n`))).toMatchObject({ code: 'IMPORT_EMPTY' })
  })
})
