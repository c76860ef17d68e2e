'use strict'
// `node.events(...names)`: the events of a node as an async iterator.

/**
 * An async iterator of `{name, args}` fed by `push`; `onClose` runs when the
 * consumer stops (break, return or throw).
 */
function eventIterator (matches, onClose) {
  const queue = []
  let waiting = null
  let done = false
  const finish = () => {
    if (done) return
    done = true
    onClose()
    if (waiting) {
      waiting.resolve({ value: undefined, done: true })
      waiting = null
    }
  }
  const it = {
    matches,
    push (event) {
      if (done) return
      if (waiting) {
        waiting.resolve({ value: event, done: false })
        waiting = null
      } else {
        queue.push(event)
      }
    },
    next () {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift(), done: false })
      if (done) return Promise.resolve({ value: undefined, done: true })
      return new Promise((resolve) => { waiting = { resolve } })
    },
    return () {
      queue.length = 0
      finish()
      return Promise.resolve({ value: undefined, done: true })
    },
    throw (err) {
      queue.length = 0
      finish()
      return Promise.reject(err)
    },
    [Symbol.asyncIterator] () { return this }
  }
  return it
}

module.exports = { eventIterator }
