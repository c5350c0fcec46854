//go:build race

package compress

// raceEnabled shrinks the large streaming tests, which the race detector
// slows down tenfold.
const raceEnabled = true
