'use strict'
// Event-name patterns, as the Rust library reads them: names split at `.`;
// `*` is exactly one segment, `**` any number of them (none included). A
// name without `*` matches itself only.

function matchSegments (pattern, name, p, n) {
  while (p < pattern.length) {
    const seg = pattern[p]
    if (seg === '**') {
      for (let k = n; k <= name.length; k++) {
        if (matchSegments(pattern, name, p + 1, k)) return true
      }
      return false
    }
    if (n >= name.length) return false
    if (seg !== '*' && seg !== name[n]) return false
    p++
    n++
  }
  return n === name.length
}

/** Checks a pattern as the library does; throws a TypeError naming what is wrong. */
function check (pattern) {
  if (typeof pattern !== 'string') throw new TypeError(`an event name must be a string, got ${typeof pattern}`)
  if (!pattern.includes('*')) return
  const segs = pattern.split('.')
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]
    if (s === '') throw new TypeError(`pattern ${JSON.stringify(pattern)} has an empty segment`)
    if (s.includes('*') && s !== '*' && s !== '**') {
      throw new TypeError(`pattern ${JSON.stringify(pattern)}: * and ** must stand alone between dots`)
    }
    if (s === '**' && segs[i + 1] === '**') {
      throw new TypeError(`pattern ${JSON.stringify(pattern)}: ** cannot follow **`)
    }
  }
}

/** A predicate on event names for these names and patterns (every name if none). */
function matcher (names) {
  if (names.length === 0) return () => true
  names.forEach(check)
  const exact = new Set(names.filter((n) => !n.includes('*')))
  const patterns = names.filter((n) => n.includes('*')).map((p) => p.split('.'))
  return (name) => {
    if (exact.has(name)) return true
    if (patterns.length === 0 || typeof name !== 'string') return false
    const segs = name.split('.')
    return patterns.some((p) => matchSegments(p, segs, 0, 0))
  }
}

module.exports = { matcher }
