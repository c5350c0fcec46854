//go:build race

package format

// raceEnabled shrinks the large streaming tests, which the race detector
// slows down tenfold.
const raceEnabled = true
