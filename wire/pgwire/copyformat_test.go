package pgwire

import (
	"reflect"
	"testing"
)

// TestCopyDecoder decodes each input whole and fed one byte at a time:
// rows must not depend on where CopyData chunks split the stream.
func TestCopyDecoder(t *testing.T) {
	binRow := func(fields ...[]byte) []byte {
		b := []byte{0, byte(len(fields))}
		for _, f := range fields {
			if f == nil {
				b = append(b, 0xff, 0xff, 0xff, 0xff)
				continue
			}
			b = append(b, 0, 0, 0, byte(len(f)))
			b = append(b, f...)
		}
		return b
	}
	bin := append(append([]byte{}, copyBinarySignature...), 0, 0, 0, 0, 0, 0, 0, 2, 'x', 'y')
	bin = append(bin, binRow([]byte{0, 0, 0, 1}, nil)...)
	bin = append(bin, binRow([]byte("hi"), []byte{})...)
	bin = append(bin, 0xff, 0xff)
	csv := defaultCopyOptions(copyCSV)
	csvHeader := csv
	csvHeader.header = true
	for _, tc := range []struct {
		name string
		opts copyOptions
		in   string
		want [][]string // "<null>" for NULL
	}{
		{"text", defaultCopyOptions(copyText), "1\ta\\tb\t\\N\r\n2\t\\\\x\\101\\x41\t\n\\.\nignored\n", [][]string{{"1", "a\tb", "<null>"}, {"2", "\\xAA", ""}}},
		{"text without final newline", defaultCopyOptions(copyText), "1\tz", [][]string{{"1", "z"}}},
		{"csv", csv, "1,\"a,\"\"b\"\"\",\n2,\"multi\nline\",\"\"\n", [][]string{{"1", "a,\"b\"", "<null>"}, {"2", "multi\nline", ""}}},
		{"csv header", csvHeader, "id,name\r\n3,c\r\n\\.\r\n", [][]string{{"3", "c"}}},
		{"binary", defaultCopyOptions(copyBinary), string(bin), [][]string{{"\x00\x00\x00\x01", "<null>"}, {"hi", ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range []int{len(tc.in), 1} {
				d := &copyDecoder{opts: tc.opts}
				var got [][]string
				take := func(final bool) {
					for {
						row, ok, err := d.next(final)
						if err != nil {
							t.Fatal(err)
						}
						if !ok {
							return
						}
						var r []string
						for _, f := range row {
							if f == nil {
								r = append(r, "<null>")
							} else {
								r = append(r, string(f))
							}
						}
						got = append(got, r)
					}
				}
				for i := 0; i < len(tc.in); i += chunk {
					d.feed([]byte(tc.in[i:min(i+chunk, len(tc.in))]))
					take(false)
				}
				take(true)
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("chunk %d: got %q, want %q", chunk, got, tc.want)
				}
			}
		})
	}
}

func TestCopyEncode(t *testing.T) {
	text, csv := defaultCopyOptions(copyText), defaultCopyOptions(copyCSV)
	for _, tc := range []struct {
		opts copyOptions
		in   []byte
		want string
	}{
		{text, nil, `\N`},
		{text, []byte("a\tb\\c\nd"), `a\tb\\c\nd`},
		{csv, nil, ``},
		{csv, []byte{}, `""`},
		{csv, []byte(`say "hi", bye`), `"say ""hi"", bye"`},
		{csv, []byte(`\.`), `"\."`},
	} {
		if got := string(tc.opts.appendField(nil, tc.in)); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, got, tc.want)
		}
	}
	if s, err := decodeNumericBinary([]byte{0, 2, 0, 0, 0x40, 0, 0, 3, 0, 12, 0x13, 0x88}); err != nil || s != "-12.500" {
		t.Errorf("numeric: %q %v", s, err)
	}
}

// FuzzCopyDecoder: any input, in any format, decodes without panicking,
// and to the same rows whether it arrives whole or byte by byte.
func FuzzCopyDecoder(f *testing.F) {
	f.Add(uint8(0), []byte("1\ta\\tb\t\\N\n\\.\n"))
	f.Add(uint8(1), []byte("1,\"a,\"\"b\"\"\",\n2,\"x\r\ny\"\r\n"))
	f.Add(uint8(2), append(append([]byte{}, copyBinarySignature...), 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 'x', 0xff, 0xff))
	f.Fuzz(func(t *testing.T, format uint8, in []byte) {
		opts := defaultCopyOptions(copyFormat(format % 3))
		decode := func(chunk int) ([][][]byte, bool) {
			d := &copyDecoder{opts: opts}
			var rows [][][]byte
			take := func(final bool) bool {
				for {
					row, ok, err := d.next(final)
					if err != nil {
						return false
					}
					if !ok {
						return true
					}
					rows = append(rows, row)
				}
			}
			for i := 0; i < len(in); i += chunk {
				d.feed(in[i:min(i+chunk, len(in))])
				if !take(false) {
					return rows, false
				}
			}
			return rows, take(true)
		}
		whole, okWhole := decode(max(len(in), 1))
		bytewise, okBytes := decode(1)
		if okWhole != okBytes || okWhole && !reflect.DeepEqual(whole, bytewise) {
			t.Fatalf("whole: %q (ok %v)\nbyte by byte: %q (ok %v)", whole, okWhole, bytewise, okBytes)
		}
	})
}
