//go:build !race

package storetest

// raceEnabled reports whether the race detector is on; the slowest cases
// then check a rotating sample of their combinations rather than all.
const raceEnabled = false
