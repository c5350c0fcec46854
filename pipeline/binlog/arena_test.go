package binlog

import (
	"math/big"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestArenaDecimal: a decimal carved from the arena is the big.Rat
// SetFrac makes, normalized the same way, words and sign included.
func TestArenaDecimal(t *testing.T) {
	var a arena
	nums := []uint64{0, 1, 2, 5, 10, 100, 120, 1250, 999999999999999999, 500000000000000000, 1 << 40}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		nums = append(nums, r.Uint64N(1e18))
	}
	for _, num := range nums {
		for scale := 0; scale <= 18; scale++ {
			for _, neg := range []bool{false, true} {
				n := new(big.Int).SetUint64(num)
				if neg {
					n.Neg(n)
				}
				want := new(big.Rat).SetFrac(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
				for _, in := range []*arena{&a, nil} {
					got, ok := in.decimal(num, neg, scale)
					if !ok || got.Cmp(want) != 0 || got.String() != want.String() ||
						!reflect.DeepEqual(got.Num().Bits(), want.Num().Bits()) || !reflect.DeepEqual(got.Denom().Bits(), want.Denom().Bits()) ||
						got.Num().Sign() != want.Num().Sign() {
						t.Fatalf("decimal(%d, %v, %d) = %v, want %v", num, neg, scale, got, want)
					}
				}
			}
		}
	}
	if _, ok := a.decimal(1, false, 19); ok {
		t.Error("a scale of 19 takes the uint64 path")
	}
}

// TestDateTime: the days counted by hand are time.Date's, a day past its
// month's end included.
func TestDateTime(t *testing.T) {
	for y := 0; y <= 10000; y += 7 {
		for m := 1; m <= 12; m++ {
			for _, d := range []int{1, 15, 28, 29, 30, 31} {
				want := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Add(13*time.Hour + 5*time.Minute + 7*time.Second + 1234*time.Microsecond)
				got, ok := dateTime(y, m, d, 13*3600+5*60+7, 1234)
				if !ok || got != want {
					t.Fatalf("dateTime(%d, %d, %d) = %v, want %v", y, m, d, got, want)
				}
			}
		}
	}
	for _, ymd := range [][3]int{{0, 0, 0}, {2024, 0, 1}, {2024, 1, 0}, {2024, 13, 1}} {
		if _, ok := dateTime(ymd[0], ymd[1], ymd[2], 0, 0); ok {
			t.Errorf("dateTime%v is a day", ymd)
		}
	}
}

// TestArenaValues: values carved from slabs are the values a conversion
// to any makes, and stay so when the slabs fill and more are carved.
func TestArenaValues(t *testing.T) {
	var a arena
	type pair struct{ got, want any }
	var all []pair
	for i := range 3 * arenaSlab {
		v := int64(i) * 1e12
		tm := time.Unix(int64(i)*1000, 0).UTC()
		s := string(rune('a'+i%26)) + "é"
		all = append(all,
			pair{a.int64(v), v}, pair{a.int32(int32(i * 1000)), int32(i * 1000)},
			pair{a.float64(float64(i) / 3), float64(i) / 3}, pair{a.float32(float32(i) / 3), float32(i) / 3},
			pair{a.time(tm), tm}, pair{a.duration(time.Duration(i) * time.Second), time.Duration(i) * time.Second},
			pair{a.string([]byte(s)), s}, pair{a.copy([]byte(s)), []byte(s)})
	}
	for i, p := range all {
		if !reflect.DeepEqual(p.got, p.want) || reflect.TypeOf(p.want).Comparable() && p.got != p.want {
			t.Fatalf("value %d: %#v, want %#v", i, p.got, p.want)
		}
	}
	// A copy has no room to grow into the next value.
	b := a.copy([]byte("ab"))
	next := a.copy([]byte("cd"))
	_ = append(b, 'x')
	if string(next) != "cd" {
		t.Errorf("appending to a copy wrote into the next: %q", next)
	}
}
