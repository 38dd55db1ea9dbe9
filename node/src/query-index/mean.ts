/**
 * The arithmetic mean of finite values, null for none. The plain sum is
 * exact enough and what the tests compare against; where it overflows
 * (values near ±1.8e308, which the entry schema allows) the mean is taken
 * of the values scaled by the largest magnitude, which cannot, instead — otherwise the answer would be Infinity,
 * which JSON writes as null.
 */
export function meanOf (values: readonly number[]): number | null {
  if (values.length === 0) return null
  let sum = 0
  for (const v of values) sum += v
  if (Number.isFinite(sum)) return sum / values.length
  // Scaled by the largest magnitude, every term is within [-1, 1], their mean too, and so the result is within ±scale.
  let scale = 0
  for (const v of values) scale = Math.max(scale, Math.abs(v))
  let scaled = 0
  for (const v of values) scaled += v / scale
  return (scaled / values.length) * scale
}
