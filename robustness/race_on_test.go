//go:build race

package robustness

// raceEnabled reports whether the tests run with the race detector, so the
// binary under test is built with the same flags (and from the same cached
// packages) as the test itself.
const raceEnabled = true
