package postgres

import (
	"math"
	"math/big"
	"math/bits"
	"sync"
)

// This file is PostgreSQL's float8 output (src/common/d2s.c, Ryu as
// PostgreSQL modified it) in Go. strconv's shortest output is Ryu's too,
// but PostgreSQL builds Ryu with STRICTLY_SHORTEST 0: it never prints the
// exact midpoint between two doubles, which strconv does when the
// mantissa is even (1e23, which PostgreSQL prints 9.999999999999999e+22).

const (
	doubleMantissaBits   = 52
	doubleBias           = 1023
	doublePow5InvBits    = 122
	doublePow5Bits       = 121
	doublePow5InvEntries = 292
	doublePow5Entries    = 326
)

// The tables of d2s_full_table.h, which upstream Ryu generates as these
// do: 5^i to 121 bits, and 2^(bits(5^i)-1+122)/5^i + 1; low word first.
// They are made on first use, not at start: most runs of the binary
// write no float8 as CSV.
var ryu = sync.OnceValue(func() *ryuTables {
	t := new(ryuTables)
	t.inv, t.split = makeRyuTables()
	return t
})

type ryuTables struct {
	inv   [doublePow5InvEntries][2]uint64
	split [doublePow5Entries][2]uint64
}

func makeRyuTables() (inv [doublePow5InvEntries][2]uint64, split [doublePow5Entries][2]uint64) {
	five := big.NewInt(5)
	mask := new(big.Int).SetUint64(math.MaxUint64)
	words := func(v *big.Int) [2]uint64 {
		return [2]uint64{new(big.Int).And(v, mask).Uint64(), new(big.Int).Rsh(v, 64).Uint64()}
	}
	pow := big.NewInt(1)
	for i := range doublePow5Entries {
		n := pow.BitLen()
		v := new(big.Int)
		if shift := n - doublePow5Bits; shift >= 0 {
			v.Rsh(pow, uint(shift))
		} else {
			v.Lsh(pow, uint(-shift))
		}
		split[i] = words(v)
		if i < doublePow5InvEntries {
			v.Lsh(big.NewInt(1), uint(n-1+doublePow5InvBits))
			v.Div(v, pow)
			inv[i] = words(v.Add(v, big.NewInt(1)))
		}
		pow.Mul(pow, five)
	}
	return inv, split
}

func pow5bits(e int32) int32  { return int32((uint32(e)*1217359)>>19) + 1 }
func log10Pow2(e int32) int32 { return int32((uint32(e) * 78913) >> 18) }
func log10Pow5(e int32) int32 { return int32((uint32(e) * 732923) >> 20) }

func pow5Factor(v uint64) uint32 {
	var n uint32
	for v%5 == 0 {
		v /= 5
		n++
	}
	return n
}

// mulShift is (m × mul) >> j, mul a 128-bit table entry, j ≥ 64.
func mulShift(m uint64, mul [2]uint64, j int32) uint64 {
	hi0, _ := bits.Mul64(m, mul[0])
	hi2, lo2 := bits.Mul64(m, mul[1])
	lo, carry := bits.Add64(lo2, hi0, 0)
	hi := hi2 + carry
	s := uint(j - 64)
	return lo>>s | hi<<(64-s)
}

// d2d is d2s.c's d2d with acceptBounds false: the decimal mantissa and
// exponent of a finite, non-zero double's shortest output.
func d2d(ieeeMantissa uint64, ieeeExponent uint32) (uint64, int32) {
	var e2 int32
	var m2 uint64
	if ieeeExponent == 0 {
		e2 = 1 - doubleBias - doubleMantissaBits - 2
		m2 = ieeeMantissa
	} else {
		e2 = int32(ieeeExponent) - doubleBias - doubleMantissaBits - 2
		m2 = 1<<doubleMantissaBits | ieeeMantissa
	}
	mv := 4 * m2
	var mmShift uint64
	if ieeeMantissa != 0 || ieeeExponent <= 1 {
		mmShift = 1
	}
	var vr, vp, vm uint64
	var e10 int32
	vrTrailingZeros := false
	if e2 >= 0 {
		q := log10Pow2(e2)
		if e2 > 3 {
			q--
		}
		k := doublePow5InvBits + pow5bits(q) - 1
		i := -e2 + q + k
		e10 = q
		mul := ryu().inv[q]
		vr, vp, vm = mulShift(4*m2, mul, i), mulShift(4*m2+2, mul, i), mulShift(4*m2-1-mmShift, mul, i)
		if q <= 21 {
			if mv%5 == 0 {
				vrTrailingZeros = pow5Factor(mv) >= uint32(q)
			} else if pow5Factor(mv+2) >= uint32(q) {
				vp--
			}
		}
	} else {
		q := log10Pow5(-e2)
		if -e2 > 1 {
			q--
		}
		i := -e2 - q
		k := pow5bits(i) - doublePow5Bits
		j := q - k
		e10 = q + e2
		mul := ryu().split[i]
		vr, vp, vm = mulShift(4*m2, mul, j), mulShift(4*m2+2, mul, j), mulShift(4*m2-1-mmShift, mul, j)
		if q <= 1 {
			vrTrailingZeros = true
			vp--
		} else if q < 63 {
			vrTrailingZeros = mv&(1<<(q-1)-1) == 0
		}
	}
	var removed int32
	var output uint64
	if vrTrailingZeros {
		// The general case (~0.7%), without vmIsTrailingZeros, which
		// only acceptBounds sets.
		var last uint64
		for vp/10 > vm/10 {
			vrTrailingZeros = vrTrailingZeros && last == 0
			last = vr % 10
			vr, vp, vm = vr/10, vp/10, vm/10
			removed++
		}
		if vrTrailingZeros && last == 5 && vr%2 == 0 {
			last = 4 // round to even on an exact .5
		}
		output = vr
		if vr == vm || last >= 5 {
			output++
		}
	} else {
		roundUp := false
		if vp/100 > vm/100 {
			roundUp = vr%100 >= 50
			vr, vp, vm = vr/100, vp/100, vm/100
			removed += 2
		}
		for vp/10 > vm/10 {
			roundUp = vr%10 >= 5
			vr, vp, vm = vr/10, vp/10, vm/10
			removed++
		}
		output = vr
		if vr == vm || roundUp {
			output++
		}
	}
	return output, e10 + removed
}

// appendFloat8 prints f as float8out does with extra_float_digits > 0
// (double_to_shortest_decimal_bufn): NaN, ±Infinity, ±0, then the
// shortest digits in fixed notation when the decimal exponent is in
// [-4, 15) and as d.ddde±XX otherwise.
func appendFloat8(dst []byte, f float64) []byte {
	b := math.Float64bits(f)
	sign := b>>63 != 0
	mant := b & (1<<doubleMantissaBits - 1)
	exp := uint32(b>>doubleMantissaBits) & 0x7ff
	switch {
	case exp == 0x7ff && mant != 0:
		return append(dst, "NaN"...)
	case sign:
		dst = append(dst, '-')
	}
	switch {
	case exp == 0x7ff:
		return append(dst, "Infinity"...)
	case exp == 0 && mant == 0:
		return append(dst, '0')
	}
	var output uint64
	var e10 int32
	// d2d_small_int: an integer in [1, 2^53) is its own digits.
	if e2 := int32(exp) - doubleBias - doubleMantissaBits; e2 >= -doubleMantissaBits && e2 <= 0 && mant&(1<<-e2-1) == 0 {
		output, e10 = (1<<doubleMantissaBits|mant)>>-e2, 0
	} else {
		output, e10 = d2d(mant, exp)
	}
	var digits [20]byte
	d := appendUint(digits[:0], output)
	x := e10 + int32(len(d)) - 1 // the display exponent
	if x >= -4 && x < 15 {
		switch {
		case x < 0:
			dst = append(dst, "0.0000"[:2-1-x]...)
			return append(dst, d...)
		case int(x)+1 >= len(d):
			dst = append(dst, d...)
			for range int(x) + 1 - len(d) {
				dst = append(dst, '0')
			}
			return dst
		default:
			dst = append(dst, d[:x+1]...)
			dst = append(dst, '.')
			return append(dst, d[x+1:]...)
		}
	}
	// The small-integer path may leave trailing zeros, which scientific
	// notation drops (to_chars does it whenever the exponent is 0).
	for e10 == 0 && len(d) > 1 && d[len(d)-1] == '0' {
		d = d[:len(d)-1]
	}
	dst = append(dst, d[0])
	if len(d) > 1 {
		dst = append(dst, '.')
		dst = append(dst, d[1:]...)
	}
	dst = append(dst, 'e')
	if x < 0 {
		dst, x = append(dst, '-'), -x
	} else {
		dst = append(dst, '+')
	}
	if x < 10 {
		dst = append(dst, '0')
	}
	return appendUint(dst, uint64(x))
}
