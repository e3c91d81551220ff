/**
 * Fractional indexes for sibling order in the tree, the same algorithm as the server's
 * crdt/views/positions.py: base-62 keys (0-9A-Za-z, ASCII order) that never end in '0'.
 */
const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const BASE = DIGITS.length

function value (digit: string): number {
  return DIGITS.indexOf(digit)
}

export function isPosition (key: unknown): key is string {
  return typeof key === 'string' && key !== '' && !key.endsWith('0') &&
    Array.from(key).every((ch) => DIGITS.includes(ch))
}

function midpoint (low: string, high: string | null): string {
  if (high !== null) {
    let n = 0
    while (n < high.length && (n < low.length ? low[n] : DIGITS[0]) === high[n]) n++
    if (n > 0) return high.slice(0, n) + midpoint(low.slice(n), high.slice(n))
  }
  const digitLow = low ? value(low[0]) : 0
  const digitHigh = high !== null ? value(high[0]) : BASE
  if (digitHigh - digitLow > 1) return DIGITS[Math.floor((digitLow + digitHigh) / 2)]
  if (high !== null && high.length > 1) return high[0]
  return DIGITS[digitLow] + midpoint(low.slice(1), null)
}

/** A key sorting after `before` and before `after` (null: no bound on that side). */
export function positionBetween (before: string | null, after: string | null): string {
  const lo = isPosition(before) ? before : null
  const hi = isPosition(after) ? after : null
  if (lo !== null && hi !== null && lo >= hi) return midpoint(lo, null)
  return midpoint(lo ?? '', hi)
}
