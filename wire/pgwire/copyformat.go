package pgwire

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// copyFormat is a COPY data format.
type copyFormat int

const (
	copyText copyFormat = iota
	copyCSV
	copyBinary
)

func (f copyFormat) wireCode() byte {
	if f == copyBinary {
		return 1
	}
	return 0
}

// copyOptions are a COPY statement's format options.
type copyOptions struct {
	format        copyFormat
	delim         byte
	null          string
	header        bool
	quote, escape byte
}

func defaultCopyOptions(f copyFormat) copyOptions {
	o := copyOptions{format: f, delim: '\t', null: `\N`, quote: '"', escape: '"'}
	if f == copyCSV {
		o.delim, o.null = ',', ""
	}
	return o
}

// errBadCopyData is wrapped by every malformed-input error of a decoder.
var errBadCopyData = errors.New("malformed COPY data")

// copyDecoder splits COPY FROM STDIN input into rows of raw fields
// (nil: NULL). It is fed the data as it arrives, in CopyData chunks whose
// boundaries need not fall between rows.
type copyDecoder struct {
	opts copyOptions
	buf  []byte
	pos  int
	// started: the binary header or the CSV header line was read.
	started bool
	// done: the end-of-data marker (\. or the binary trailer) was read.
	done bool
}

// feed appends input.
func (d *copyDecoder) feed(b []byte) {
	if d.pos > 0 && d.pos == len(d.buf) {
		d.buf, d.pos = d.buf[:0], 0
	} else if d.pos > 64<<10 {
		d.buf, d.pos = append(d.buf[:0], d.buf[d.pos:]...), 0
	}
	d.buf = append(d.buf, b...)
}

// next returns the next complete row, or ok false when more input is
// needed (final: no more input will come, so a last row without a line
// end counts).
func (d *copyDecoder) next(final bool) (row [][]byte, ok bool, err error) {
	for !d.done {
		switch d.opts.format {
		case copyBinary:
			row, ok, err = d.nextBinary()
		case copyCSV:
			row, ok, err = d.nextCSV(final)
		default:
			row, ok, err = d.nextText(final)
		}
		if err != nil || !ok {
			return nil, false, err
		}
		if row == nil {
			continue // a header, skipped
		}
		return row, true, nil
	}
	return nil, false, nil
}

// line returns the next line without its end, or ok false.
func (d *copyDecoder) line(final bool) ([]byte, bool) {
	rest := d.buf[d.pos:]
	i := bytes.IndexByte(rest, '\n')
	if i < 0 {
		if !final || len(rest) == 0 {
			return nil, false
		}
		d.pos = len(d.buf)
		return bytes.TrimSuffix(rest, []byte{'\r'}), true
	}
	d.pos += i + 1
	return bytes.TrimSuffix(rest[:i], []byte{'\r'}), true
}

func (d *copyDecoder) nextText(final bool) ([][]byte, bool, error) {
	ln, ok := d.line(final)
	if !ok {
		return nil, false, nil
	}
	if string(ln) == `\.` {
		d.done = true
		return nil, false, nil
	}
	if d.opts.header && !d.started {
		d.started = true
		return nil, true, nil
	}
	var row [][]byte
	start := 0
	for i := 0; i <= len(ln); i++ {
		if i < len(ln) && ln[i] == '\\' {
			i++ // the escaped byte is never a delimiter
			continue
		}
		if i == len(ln) || ln[i] == d.opts.delim {
			raw := ln[start:i]
			if string(raw) == d.opts.null {
				row = append(row, nil)
			} else {
				row = append(row, unescapeCopyText(raw))
			}
			start = i + 1
		}
	}
	return row, true, nil
}

// unescapeCopyText undoes COPY text format's backslash escapes.
func unescapeCopyText(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return append([]byte{}, raw...)
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 == len(raw) {
			out = append(out, c)
			continue
		}
		i++
		switch c = raw[i]; c {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, '\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(raw) && raw[i+1] >= '0' && raw[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(raw[i]-'0')
			}
			out = append(out, byte(v))
		case 'x':
			v, n := 0, 0
			for n < 2 && i+1 < len(raw) && isHex(raw[i+1]) {
				i++
				v = v*16 + hexVal(raw[i])
				n++
			}
			if n == 0 {
				out = append(out, 'x')
			} else {
				out = append(out, byte(v))
			}
		default:
			out = append(out, c)
		}
	}
	return out
}

func isHex(c byte) bool { return hexVal(c) >= 0 }

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// nextCSV reads one CSV record; quoted fields may span lines.
func (d *copyDecoder) nextCSV(final bool) ([][]byte, bool, error) {
	o := d.opts
	b := d.buf[d.pos:]
	var (
		row            [][]byte
		cur            []byte
		quoted, inQuot bool
	)
	endField := func() {
		if !quoted && string(cur) == o.null {
			row = append(row, nil)
		} else {
			row = append(row, append([]byte{}, cur...))
		}
		cur, quoted = cur[:0], false
	}
	i := 0
	for i < len(b) {
		c := b[i]
		if inQuot {
			switch {
			case c == o.escape && i+1 < len(b) && (b[i+1] == o.quote || b[i+1] == o.escape) && (o.escape != o.quote || b[i+1] == o.quote):
				cur = append(cur, b[i+1])
				i += 2
			case c == o.escape && i+1 == len(b) && !final:
				return nil, false, nil // the next byte decides
			case c == o.quote:
				inQuot = false
				i++
			default:
				cur = append(cur, c)
				i++
			}
			continue
		}
		switch c {
		case o.delim:
			endField()
			i++
		case o.quote:
			inQuot, quoted = true, true
			i++
		case '\n', '\r':
			if c == '\r' && i+1 == len(b) && !final {
				return nil, false, nil
			}
			if c == '\r' && i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			if len(row) == 0 && !quoted && string(cur) == `\.` {
				d.pos += i + 1
				d.done = true
				return nil, false, nil
			}
			endField()
			d.pos += i + 1
			return d.csvRow(row)
		default:
			cur = append(cur, c)
			i++
		}
	}
	if !final {
		return nil, false, nil
	}
	if inQuot {
		return nil, false, errors.Join(errBadCopyData, errors.New("unterminated CSV quoted field"))
	}
	if len(b) == 0 {
		return nil, false, nil
	}
	if len(row) == 0 && !quoted && string(cur) == `\.` {
		d.pos, d.done = len(d.buf), true
		return nil, false, nil
	}
	endField()
	d.pos = len(d.buf)
	return d.csvRow(row)
}

func (d *copyDecoder) csvRow(row [][]byte) ([][]byte, bool, error) {
	if d.opts.header && !d.started {
		d.started = true
		return nil, true, nil
	}
	return row, true, nil
}

// copyBinarySignature starts binary COPY data.
var copyBinarySignature = []byte("PGCOPY\n\xff\r\n\x00")

func (d *copyDecoder) nextBinary() ([][]byte, bool, error) {
	b := d.buf[d.pos:]
	if !d.started {
		if len(b) < len(copyBinarySignature)+8 {
			return nil, false, nil
		}
		if !bytes.Equal(b[:len(copyBinarySignature)], copyBinarySignature) {
			return nil, false, errors.Join(errBadCopyData, errors.New("COPY file signature not recognized"))
		}
		ext := int(binary.BigEndian.Uint32(b[len(copyBinarySignature)+4:]))
		n := len(copyBinarySignature) + 8 + ext
		if ext < 0 || len(b) < n {
			return nil, false, nil
		}
		d.pos += n
		d.started = true
		return nil, true, nil
	}
	if len(b) < 2 {
		return nil, false, nil
	}
	count := int(int16(binary.BigEndian.Uint16(b)))
	if count == -1 {
		d.pos += 2
		d.done = true
		return nil, false, nil
	}
	if count < 0 {
		return nil, false, errors.Join(errBadCopyData, errors.New("negative field count"))
	}
	i := 2
	row := make([][]byte, count)
	for f := 0; f < count; f++ {
		if len(b) < i+4 {
			return nil, false, nil
		}
		n := int(int32(binary.BigEndian.Uint32(b[i:])))
		i += 4
		if n == -1 {
			continue
		}
		if n < 0 {
			return nil, false, errors.Join(errBadCopyData, errors.New("invalid field size"))
		}
		if len(b) < i+n {
			return nil, false, nil
		}
		row[f] = append(make([]byte, 0, n), b[i:i+n]...)
		i += n
	}
	d.pos += i
	return row, true, nil
}

// appendCopyText appends one field in COPY text format.
func appendCopyText(dst, v []byte, o copyOptions) []byte {
	if v == nil {
		return append(dst, o.null...)
	}
	for _, c := range v {
		switch c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if c == o.delim {
				dst = append(dst, '\\')
			}
			dst = append(dst, c)
		}
	}
	return dst
}

// appendCopyCSV appends one field in CSV, quoted when it has to be.
func appendCopyCSV(dst, v []byte, o copyOptions) []byte {
	if v == nil {
		return append(dst, o.null...)
	}
	need := len(v) == 0 && o.null == "" || string(v) == o.null || bytes.HasPrefix(v, []byte(`\.`))
	for _, c := range v {
		if c == o.delim || c == o.quote || c == '\n' || c == '\r' || c == o.escape {
			need = true
			break
		}
	}
	if !need {
		return append(dst, v...)
	}
	dst = append(dst, o.quote)
	for _, c := range v {
		if c == o.quote || c == o.escape {
			dst = append(dst, o.escape)
		}
		dst = append(dst, c)
	}
	return append(dst, o.quote)
}
