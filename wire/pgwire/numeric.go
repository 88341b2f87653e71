package pgwire

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// encodeNumericBinary renders a decimal string in PostgreSQL's binary
// numeric format: base-10000 digit groups with a weight and a scale.
func encodeNumericBinary(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	sign := uint16(0)
	if strings.HasPrefix(s, "-") {
		sign, s = 0x4000, s[1:]
	}
	s = strings.TrimPrefix(s, "+")
	intPart, frac, _ := strings.Cut(s, ".")
	for _, r := range intPart + frac {
		if r < '0' || r > '9' {
			return nil, fmt.Errorf("pgwire: numeric %q", s)
		}
	}
	dscale := len(frac)
	intPart = strings.TrimLeft(intPart, "0")
	if pad := len(intPart) % 4; pad != 0 {
		intPart = strings.Repeat("0", 4-pad) + intPart
	}
	if pad := len(frac) % 4; pad != 0 {
		frac += strings.Repeat("0", 4-pad)
	}
	all := intPart + frac
	var digits []int16
	for i := 0; i < len(all); i += 4 {
		var d int16
		for _, r := range all[i : i+4] {
			d = d*10 + int16(r-'0')
		}
		digits = append(digits, d)
	}
	weight := len(intPart)/4 - 1
	for len(digits) > 0 && digits[0] == 0 {
		digits, weight = digits[1:], weight-1
	}
	for len(digits) > 0 && digits[len(digits)-1] == 0 {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 {
		weight, sign = 0, 0
	}
	b := make([]byte, 0, 8+2*len(digits))
	b = binary.BigEndian.AppendUint16(b, uint16(len(digits)))
	b = binary.BigEndian.AppendUint16(b, uint16(int16(weight)))
	b = binary.BigEndian.AppendUint16(b, sign)
	b = binary.BigEndian.AppendUint16(b, uint16(dscale))
	for _, d := range digits {
		b = binary.BigEndian.AppendUint16(b, uint16(d))
	}
	return b, nil
}

// decodeNumericBinary reads PostgreSQL's binary numeric as a decimal
// string.
func decodeNumericBinary(b []byte) (string, error) {
	if len(b) < 8 {
		return "", fmt.Errorf("pgwire: binary numeric of %d bytes", len(b))
	}
	ndigits := int(binary.BigEndian.Uint16(b))
	weight := int(int16(binary.BigEndian.Uint16(b[2:])))
	sign := binary.BigEndian.Uint16(b[4:])
	dscale := int(binary.BigEndian.Uint16(b[6:]))
	if len(b) != 8+2*ndigits {
		return "", fmt.Errorf("pgwire: binary numeric of %d bytes for %d digits", len(b), ndigits)
	}
	if sign == 0xC000 {
		return "NaN", nil
	}
	digit := func(i int) int {
		if i < 0 || i >= ndigits {
			return 0
		}
		return int(binary.BigEndian.Uint16(b[8+2*i:]))
	}
	var sb strings.Builder
	if sign == 0x4000 {
		sb.WriteByte('-')
	}
	if weight < 0 {
		sb.WriteByte('0')
	}
	for i := 0; i <= weight; i++ {
		if i == 0 {
			fmt.Fprintf(&sb, "%d", digit(i))
		} else {
			fmt.Fprintf(&sb, "%04d", digit(i))
		}
	}
	if dscale > 0 {
		var frac strings.Builder
		for i := weight + 1; frac.Len() < dscale; i++ {
			fmt.Fprintf(&frac, "%04d", digit(i))
		}
		sb.WriteByte('.')
		sb.WriteString(frac.String()[:dscale])
	}
	return sb.String(), nil
}
