package binlog

import (
	"math/big"
	"math/bits"
	"time"
	"unsafe"
)

// arena hands out a decoder's row values carved from larger allocations:
// a value in an interface (pipeline.Row's any) otherwise costs an
// allocation of its own — an int64, a float64, a time.Time, a string's
// bytes, a decimal's big.Rat and its two words — which at millions of
// values a second is most of a stream's CPU (the allocations and the
// garbage collector's work on them). A slab stays in memory while any
// value carved from it is referenced, as pipeline.Slabs' rows do; the
// values are never written after they are handed out. It is for one
// goroutine. A nil *arena allocates each value on its own.
type arena struct {
	bytes []byte
	strs  []string
	i64   []int64
	i32   []int32
	f64   []float64
	f32   []float32
	times []time.Time
	durs  []time.Duration
	rats  []big.Rat
	words []big.Word
}

// arenaSlab is the number of values of a kind per slab; arenaBytes the
// size of a slab of string bytes, and bigValue the size from which a
// string gets an allocation of its own (so a slab is not mostly left
// empty by one long value).
const (
	arenaSlab  = 1024
	arenaBytes = 64 << 10
	bigValue   = arenaBytes / 8
)

// eface is the runtime's layout of an interface without methods (any):
// its type, then a pointer to its value for the types that are not
// pointers themselves. box makes such an interface point at a value in a
// slab instead of a copy of its own (what a conversion to any allocates).
type eface struct {
	typ, data unsafe.Pointer
}

// The type words of the boxed kinds, taken from interfaces holding their
// zero values.
var (
	anyString   any = ""
	anyInt64    any = int64(0)
	anyInt32    any = int32(0)
	anyFloat64  any = float64(0)
	anyFloat32  any = float32(0)
	anyTime     any = time.Time{}
	anyDuration any = time.Duration(0)
)

// box returns an interface of like's type whose value is *p. p must
// point at a value of that type that is never written again.
func box(like any, p unsafe.Pointer) any {
	v := like
	(*eface)(unsafe.Pointer(&v)).data = p
	return v
}

// slot returns the next element of *slab, making a new slab when it is
// used up.
func slot[T any](slab *[]T) *T {
	if len(*slab) == 0 {
		*slab = make([]T, arenaSlab)
	}
	p := &(*slab)[0]
	*slab = (*slab)[1:]
	return p
}

func (a *arena) int64(v int64) any {
	if a == nil {
		return v
	}
	p := slot(&a.i64)
	*p = v
	return box(anyInt64, unsafe.Pointer(p))
}

func (a *arena) int32(v int32) any {
	if a == nil || uint32(v) < 256 {
		return v // small values are boxed without an allocation
	}
	p := slot(&a.i32)
	*p = v
	return box(anyInt32, unsafe.Pointer(p))
}

func (a *arena) float64(v float64) any {
	if a == nil {
		return v
	}
	p := slot(&a.f64)
	*p = v
	return box(anyFloat64, unsafe.Pointer(p))
}

func (a *arena) float32(v float32) any {
	if a == nil {
		return v
	}
	p := slot(&a.f32)
	*p = v
	return box(anyFloat32, unsafe.Pointer(p))
}

func (a *arena) time(v time.Time) any {
	if a == nil {
		return v
	}
	p := slot(&a.times)
	*p = v
	return box(anyTime, unsafe.Pointer(p))
}

func (a *arena) duration(v time.Duration) any {
	if a == nil {
		return v
	}
	p := slot(&a.durs)
	*p = v
	return box(anyDuration, unsafe.Pointer(p))
}

// copy returns a copy of b (the event buffer is reused), with no room to
// grow into its neighbours.
func (a *arena) copy(b []byte) []byte {
	if a == nil || len(b) >= bigValue {
		return append([]byte{}, b...)
	}
	if len(a.bytes) < len(b) {
		a.bytes = make([]byte, arenaBytes)
	}
	c := a.bytes[:len(b):len(b)]
	a.bytes = a.bytes[len(b):]
	copy(c, b)
	return c
}

// string returns b as a string: a copy in a slab, which nothing writes
// again.
func (a *arena) string(b []byte) any {
	if a == nil || len(b) >= bigValue {
		return string(b)
	}
	c := a.copy(b)
	p := slot(&a.strs)
	*p = unsafe.String(unsafe.SliceData(c), len(c))
	return box(anyString, unsafe.Pointer(p))
}

// ratOne is copied into a slab's big.Rat to give it a denominator that
// Denom returns by reference; both its words are then replaced, so the
// copy shares nothing with it.
var ratOne = big.NewRat(1, 1)

// decimal returns num/10^scale (negated when neg) as a normalized
// big.Rat, as SetFrac makes it, without SetFrac's allocations and GCD:
// 10^scale has no prime factors but 2 and 5, so the fraction is reduced
// by taking out the 2s and 5s num and the power share. ok is false when
// the value needs a big.Int (more than 18 digits, or 32-bit words).
func (a *arena) decimal(num uint64, neg bool, scale int) (*big.Rat, bool) {
	if bits.UintSize != 64 || scale > 18 {
		return nil, false
	}
	den := pow10u64[scale]
	if num == 0 {
		den = 1
	}
	if num != 0 {
		k := min(bits.TrailingZeros64(num), scale) // den has scale 2s
		num, den = num>>k, den>>k
	}
	for num != 0 && num%5 == 0 && den%5 == 0 {
		num, den = num/5, den/5
	}
	var r *big.Rat
	var words []big.Word
	if a == nil {
		r, words = new(big.Rat), make([]big.Word, 2)
	} else {
		r = slot(&a.rats)
		if len(a.words) < 2 {
			a.words = make([]big.Word, 2*arenaSlab)
		}
		words, a.words = a.words[:2:2], a.words[2:]
	}
	words[0], words[1] = big.Word(num), big.Word(den)
	*r = *ratOne
	if num == 0 {
		r.Num().SetBits(nil) // as SetFrac leaves a zero: no words at all
	} else {
		r.Num().SetBits(words[0:1:1])
	}
	r.Denom().SetBits(words[1:2:2])
	if neg {
		r.Num().Neg(r.Num())
	}
	return r, true
}

var pow10u64 = func() (p [19]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()
