/**
 * Distances on a spherical Earth, and the latitude/longitude boxes that
 * certainly contain every point within a distance of a centre (the trace's
 * candidate search, grid.ts). The sphere's error against the WGS 84 ellipsoid is
 * below 0.5 % — far below a phone's location accuracy.
 */

/** The mean Earth radius (IUGG), in metres. */
export const EARTH_RADIUS_METRES = 6_371_008.8

const RAD = Math.PI / 180

/** Great-circle distance in metres between two points given in degrees (haversine). */
export function haversineMetres (lat1: number, lon1: number, lat2: number, lon2: number): number {
  const dLat = (lat2 - lat1) * RAD
  const dLon = (lon2 - lon1) * RAD
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_METRES * Math.asin(Math.min(1, Math.sqrt(a)))
}

export interface LatLonBox {
  readonly minLat: number
  readonly maxLat: number
  readonly minLon: number
  readonly maxLon: number
}

/**
 * Boxes covering every point within `metres` of (lat, lon): one box, or two
 * when the circle crosses the antimeridian. The longitude half-width is the
 * exact one for a spherical cap, asin(sin(d/R) / cos(lat)) — wider than the
 * plain d / (R cos lat) away from the equator, which would miss points — and
 * the whole circle of longitudes when the cap reaches a pole.
 */
export function boxesAround (lat: number, lon: number, metres: number): LatLonBox[] {
  const angular = metres / EARTH_RADIUS_METRES
  // A hair of slack against floating-point rounding; the exact distance filter follows.
  const dLat = angular / RAD * (1 + 1e-9) + 1e-9
  const minLat = Math.max(-90, lat - dLat)
  const maxLat = Math.min(90, lat + dLat)
  const ratio = Math.sin(angular) / Math.cos(lat * RAD)
  if (minLat <= -90 || maxLat >= 90 || !(ratio < 1)) return [{ minLat, maxLat, minLon: -180, maxLon: 180 }]
  const dLon = Math.asin(ratio) / RAD * (1 + 1e-9) + 1e-9
  const minLon = lon - dLon
  const maxLon = lon + dLon
  if (minLon < -180) return [{ minLat, maxLat, minLon: minLon + 360, maxLon: 180 }, { minLat, maxLat, minLon: -180, maxLon }]
  if (maxLon > 180) return [{ minLat, maxLat, minLon, maxLon: 180 }, { minLat, maxLat, minLon: -180, maxLon: maxLon - 360 }]
  return [{ minLat, maxLat, minLon, maxLon }]
}
