package tracking

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// The fast path of a batch: one pass over the body that validates it and
// finds each call's fields without building anything but the results.
// encoding/json spent most of a request's decoding time validating the body
// twice (Unmarshal checks it before it decodes) and copying every raw value.
//
// The scanner accepts only what encoding/json decodes the same way as the
// rules of this package read it, and gives up (ok false) on anything else:
// malformed JSON, a key that matches a field only case-insensitively or is
// escaped, a value of an unexpected type, a call over MaxEvent. The slow
// path then decodes the body with encoding/json and names the problem, so
// errors and edge cases behave exactly as before. A fuzz test
// (FuzzScanMatchesStd) holds the two paths to the same results.

// maxDepth bounds the nesting the scanner follows (encoding/json allows
// 10000); deeper documents take the slow path.
const maxDepth = 1000

type scanner struct {
	s     []byte
	i     int
	depth int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *scanner) ws() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (p *scanner) peek() byte {
	p.ws()
	if p.i >= len(p.s) {
		return 0
	}
	return p.s[p.i]
}

func (p *scanner) eat(c byte) bool {
	if p.peek() != c {
		return false
	}
	p.i++
	return true
}

// str skips a string at p.i (which must be '"') and reports whether it has
// no escapes (plain), so that its bytes are what encoding/json decodes.
func (p *scanner) str() (plain, ok bool) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return false, false
	}
	p.i++
	plain = true
	s := p.s
	for i := p.i; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		switch {
		case c == '"':
			p.i = i + 1
			return plain, true
		case c < 0x20:
			return false, false
		}
		// A backslash.
		plain = false
		if i+1 >= len(s) {
			return false, false
		}
		switch s[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+6 > len(s) {
				return false, false
			}
			for _, h := range s[i+2 : i+6] {
				if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
					return false, false
				}
			}
			i += 6
		default:
			return false, false
		}
	}
	return false, false
}

// number skips a JSON number.
func (p *scanner) number() bool {
	s, i := p.s, p.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	p.i = i
	return true
}

func (p *scanner) literal(lit string) bool {
	if !bytes.HasPrefix(p.s[p.i:], []byte(lit)) {
		return false
	}
	p.i += len(lit)
	return true
}

// value skips any JSON value and returns its bytes.
func (p *scanner) value() ([]byte, bool) {
	p.ws()
	start := p.i
	var ok bool
	switch p.peek() {
	case '{':
		ok = p.object(nil)
	case '[':
		ok = p.array()
	case '"':
		_, ok = p.str()
	case 't':
		ok = p.literal("true")
	case 'f':
		ok = p.literal("false")
	case 'n':
		ok = p.literal("null")
	default:
		ok = p.number()
	}
	if !ok {
		return nil, false
	}
	return p.s[start:p.i], true
}

func (p *scanner) array() bool {
	if p.depth++; p.depth > maxDepth {
		return false
	}
	defer func() { p.depth-- }()
	p.i++ // '['
	if p.eat(']') {
		return true
	}
	for {
		if _, ok := p.value(); !ok {
			return false
		}
		if p.eat(']') {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
}

// object skips an object. With member set, it is called with each key
// (unescaped; an escaped key gives up, it might decode to a field's name)
// before its value, and returns whether it consumed the value itself; false
// leaves the value to be skipped.
func (p *scanner) object(member func(key []byte) (consumed, ok bool)) bool {
	if p.depth++; p.depth > maxDepth {
		return false
	}
	defer func() { p.depth-- }()
	p.i++ // '{'
	if p.eat('}') {
		return true
	}
	for {
		if p.peek() != '"' {
			return false
		}
		ks := p.i
		plain, ok := p.str()
		if !ok {
			return false
		}
		key := p.s[ks+1 : p.i-1]
		if !p.eat(':') {
			return false
		}
		p.ws()
		consumed := false
		if member != nil {
			if !plain {
				return false
			}
			if consumed, ok = member(key); !ok {
				return false
			}
		}
		if !consumed {
			if _, ok := p.value(); !ok {
				return false
			}
		}
		if p.eat('}') {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
}

// field returns the index of key among names, -1 when it is none of them;
// ok is false when key matches one only case-insensitively (encoding/json
// would decode it into that field: left to the slow path). EqualFold folds
// as encoding/json does, Unicode included (the Kelvin sign matches k).
func field(key []byte, names []string) (int, bool) {
	for i, n := range names {
		if string(key) == n {
			return i, true
		}
	}
	for _, n := range names {
		if strings.EqualFold(string(key), n) {
			return -1, false
		}
	}
	return -1, true
}

var (
	batchKeys   = []string{"batch", "sentAt", "context"}
	messageKeys = []string{"type", "messageId", "userId", "anonymousId", "event", "name", "groupId",
		"properties", "traits", "context", "timestamp", "originalTimestamp", "sentAt"}
	contextKeys    = []string{"groupId"}
	propertiesKeys = []string{"account_id"}
	traitsKeys     = []string{"name"}
)

// sub reads an object value of the message (properties, traits, context),
// noting its one top-level key of interest; null is kept as null, any other
// type gives up (the slow path names it).
func (p *scanner) sub(keys []string, raw *json.RawMessage, found *json.RawMessage, scanned *bool) bool {
	start := p.i
	switch p.peek() {
	case 'n':
		if !p.literal("null") {
			return false
		}
		*raw, *found, *scanned = p.s[start:p.i], nil, true
		return true
	case '{':
	default:
		return false
	}
	var f json.RawMessage
	ok := p.object(func(key []byte) (bool, bool) {
		k, ok := field(key, keys)
		if !ok || k < 0 {
			return false, ok
		}
		v, ok := p.value()
		f = v // the last of repeated keys wins, as in encoding/json
		return true, ok
	})
	if !ok {
		return false
	}
	*raw, *found, *scanned = p.s[start:p.i], f, true
	return true
}

// message reads one call into m.
func (p *scanner) message(m *wireMessage) bool {
	if p.peek() != '{' {
		return false
	}
	start := p.i
	ok := p.object(func(key []byte) (bool, bool) {
		k, ok := field(key, messageKeys)
		if !ok || k < 0 {
			return false, ok
		}
		switch messageKeys[k] {
		case "properties":
			return true, p.sub(propertiesKeys, &m.Properties, &m.propAccountID, &m.propScanned)
		case "traits":
			return true, p.sub(traitsKeys, &m.Traits, &m.traitsName, &m.traitsScanned)
		case "context":
			return true, p.sub(contextKeys, &m.Context, &m.ctxGroupID, &m.ctxScanned)
		case "type":
			vs := p.i
			if _, ok := p.str(); !ok {
				return false, false // not a string: the slow path names it
			}
			if t, ok := typeNames[string(p.s[vs+1:p.i-1])]; ok {
				m.Type = t // shared, not one string a call
				return true, true
			}
			t, ok := plainString(p.s[vs:p.i])
			if !ok {
				return false, false
			}
			m.Type = &t
			return true, true
		}
		v, ok := p.value()
		if !ok {
			return false, false
		}
		switch messageKeys[k] {
		case "messageId":
			m.MessageID = v
		case "userId":
			m.UserID = v
		case "anonymousId":
			m.AnonymousID = v
		case "event":
			m.Event = v
		case "name":
			m.Name = v
		case "groupId":
			m.GroupID = v
		case "timestamp":
			m.Timestamp = v
		case "originalTimestamp":
			m.OriginalTimestamp = v
		case "sentAt":
			m.SentAt = v
		}
		return true, true
	})
	return ok && p.i-start <= MaxEvent
}

// typeNames holds the call types as values for wireMessage.Type.
var typeNames = func() map[string]*string {
	m := map[string]*string{}
	for t := range callTypes {
		m[t] = &t
	}
	return m
}()

// scanBatch reads a /v1/batch body (already trimmed, starting with '{')
// into its calls and sentAt; ok is false when the slow path must decide.
// The raw values it returns are sub-slices of body.
func scanBatch(body []byte, buf []wireMessage) (msgs []wireMessage, sentAt json.RawMessage, ok bool) {
	p := &scanner{s: body}
	if p.peek() != '{' {
		return nil, nil, false
	}
	seenBatch := false
	ok = p.object(func(key []byte) (bool, bool) {
		k, ok := field(key, batchKeys)
		if !ok || k < 0 {
			return false, ok
		}
		switch batchKeys[k] {
		case "sentAt":
			v, ok := p.value()
			sentAt = v
			return true, ok
		case "context":
			return false, true
		}
		// batch: an array of objects; a repeated batch key is left to the slow path.
		if seenBatch || p.peek() != '[' {
			return false, false
		}
		seenBatch = true
		p.i++
		if p.eat(']') {
			return true, true
		}
		msgs = buf[:0]
		for {
			msgs = append(msgs, wireMessage{})
			if !p.message(&msgs[len(msgs)-1]) {
				return false, false
			}
			if p.eat(']') {
				return true, true
			}
			if !p.eat(',') {
				return false, false
			}
		}
	})
	if !ok || p.peek() != 0 || len(msgs) == 0 {
		return nil, nil, false
	}
	return msgs, sentAt, true
}

// plainString returns the contents of a JSON string literal that needs no
// unescaping and is valid UTF-8 (then encoding/json would decode it to the
// same bytes); ok false otherwise.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	ascii := true
	for _, c := range in {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}
