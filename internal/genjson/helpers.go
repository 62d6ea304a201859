package main

// helpers are the package-level functions the encoders call.
const helpers = `
// jsonAppender is a model genjson wrote appendJSON for.
type jsonAppender interface{ appendJSON([]byte) []byte }

// encodeJSON writes v to buf as json.NewEncoder(buf).Encode(v) does (the
// JSON and a newline), by v's appendJSON when it has one. It returns
// encoding/json's error for a value encoding/json cannot encode.
func encodeJSON(buf *bytes.Buffer, v any) error {
	if a, ok := v.(jsonAppender); ok {
		buf.Grow(512)
		buf.Write(append(a.appendJSON(buf.AvailableBuffer()), '\n'))
		return nil
	}
	return json.NewEncoder(buf).Encode(v)
}

// jsonFastDecoder is a request body genjson wrote decodeJSONFast for.
type jsonFastDecoder interface{ decodeJSONFast([]byte) bool }

// jsonFastMax is the largest body decodeJSONBody reads for the fast path;
// a longer one goes to runtime.BindJSONBody as it streams.
const jsonFastMax = 64 << 10

// decodeJSONBody decodes r's JSON body into v as runtime.BindJSONBody does
// — the same value, the same errors — through v's decodeJSONFast when it
// has one and the body is plain, else through runtime.BindJSONBody on the
// same bytes (and the rest of the body, and the read error it ended with).
func decodeJSONBody(r *http.Request, v any) error {
	d, ok := v.(jsonFastDecoder)
	if !ok || r == nil || r.Body == nil {
		return runtime.BindJSONBody(r, v)
	}
	if _, validated := r.Body.(interface{ ValidatedValue() any }); validated {
		return runtime.BindJSONBody(r, v)
	}
	size := 512
	if r.ContentLength > 0 && r.ContentLength < jsonFastMax {
		size = int(r.ContentLength) + 1 // room to read the end without growing
	}
	data := make([]byte, 0, size)
	for {
		if len(data) == cap(data) {
			if len(data) >= jsonFastMax {
				r.Body = replayBody{io.MultiReader(bytes.NewReader(data), r.Body), r.Body}
				return runtime.BindJSONBody(r, v)
			}
			data = append(data, 0)[:len(data)]
		}
		n, err := r.Body.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			r.Body = replayBody{io.MultiReader(bytes.NewReader(data), jsonErrReader{err}), r.Body}
			return runtime.BindJSONBody(r, v)
		}
	}
	if d.decodeJSONFast(data) {
		return nil
	}
	r.Body = replayBody{bytes.NewReader(data), r.Body}
	return runtime.BindJSONBody(r, v)
}

// replayBody is a request body read again: what was read, then the rest;
// closing it closes the original.
type replayBody struct {
	io.Reader
	io.Closer
}

// jsonErrReader returns the error a body's read ended with.
type jsonErrReader struct{ err error }

func (e jsonErrReader) Read([]byte) (int, error) { return 0, e.err }

// jsonScan is a cursor over a JSON document for the decodeJSONFast methods;
// each method reports false for anything but the plain form it reads.
type jsonScan struct {
	data []byte
	i    int
}

// skip passes whitespace.
func (s *jsonScan) skip() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next consumes c after whitespace.
func (s *jsonScan) next(c byte) bool {
	s.skip()
	if s.i < len(s.data) && s.data[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (s *jsonScan) end() bool {
	s.skip()
	return s.i == len(s.data)
}

// raw reads a string without escapes, control characters or invalid UTF-8
// and returns its bytes.
func (s *jsonScan) raw() ([]byte, bool) {
	if !s.next('"') {
		return nil, false
	}
	start := s.i
	for j := start; j < len(s.data); j++ {
		switch c := s.data[j]; {
		case c == '"':
			seg := s.data[start:j]
			if !utf8.Valid(seg) {
				return nil, false
			}
			s.i = j + 1
			return seg, true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// key reads a member name and its colon.
func (s *jsonScan) key() ([]byte, bool) {
	k, ok := s.raw()
	return k, ok && s.next(':')
}

// str reads a plain string.
func (s *jsonScan) str() (string, bool) {
	b, ok := s.raw()
	return string(b), ok
}

// literal consumes word after whitespace.
func (s *jsonScan) literal(word string) bool {
	s.skip()
	if len(s.data)-s.i >= len(word) && string(s.data[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// null consumes null.
func (s *jsonScan) null() bool { return s.literal("null") }

// boolean reads true or false.
func (s *jsonScan) boolean() (bool, bool) {
	if s.literal("true") {
		return true, true
	}
	return false, s.literal("false")
}

// integer reads an integer that fits bits, without fraction or exponent.
func (s *jsonScan) integer(bits int) (int64, bool) {
	s.skip()
	neg := s.i < len(s.data) && s.data[s.i] == '-'
	if neg {
		s.i++
	}
	start := s.i
	var u uint64
	for s.i < len(s.data) && s.data[s.i] >= '0' && s.data[s.i] <= '9' {
		if u > (1<<63)/10 {
			return 0, false
		}
		u = u*10 + uint64(s.data[s.i]-'0')
		s.i++
	}
	digits := s.i - start
	if digits == 0 || (digits > 1 && s.data[start] == '0') {
		return 0, false
	}
	if s.i < len(s.data) && (s.data[s.i] == '.' || s.data[s.i] == 'e' || s.data[s.i] == 'E') {
		return 0, false
	}
	limit := uint64(1) << (bits - 1)
	if (!neg && u >= limit) || (neg && u > limit) {
		return 0, false
	}
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}

// jsonKey appends a comma unless b ends the object's opening brace, then
// key, a quoted name and its colon.
func jsonKey(b []byte, key string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	return append(b, key...)
}

// jsonHex are the hexadecimal digits of \u escapes.
const jsonHex = "0123456789abcdef"

// jsonString appends s as a JSON string the way encoding/json does with
// HTML escaping on: ", \ and control characters escaped (\b \f \n \r \t by
// name, the others as \u00XX), <, > and & as \u003c \u003e \u0026,
// invalid UTF-8 as \ufffd, U+2028 and U+2029 as \u2028 and \u2029.
func jsonString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, ` + "`\\ufffd`" + `...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
`
