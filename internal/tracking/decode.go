// Package tracking is the Segment HTTP Tracking API
// (https://segment.com/docs/connections/spec/): POST /v1/batch, /v1/track,
// /v1/identify, /v1/group, /v1/page (and /v1/screen), so that Segment's
// libraries and Segment itself (as a webhook destination) can send usage to
// Kizuna. This file decodes and validates payloads; handler.go serves them
// and hands them to the group-commit writer (internal/ingest).
//
// What is accepted, per call:
//
//   - every call: userId or anonymousId (a string or a number); messageId
//     (de-duplicates; optional, up to 255 bytes); timestamp, else
//     originalTimestamp corrected by sentAt as Segment does (timestamp =
//     receivedAt − (sentAt − originalTimestamp)), else the time received;
//     a timestamp must be an RFC 3339 date-time from 2000-01-01 to a day
//     ahead of the server's clock; properties, traits and context must be
//     JSON objects when present;
//   - track: event (required); page and screen: name (optional), stored as
//     the event "page" / "screen", or "page:NAME" / "screen:NAME";
//   - identify: traits, stored with the user;
//   - group: groupId (required, the Kizuna account id), traits (traits.name
//     names an account the call creates);
//   - alias: accepted and ignored.
//
// A batch is accepted or rejected whole: the first problem is reported as
// batch[i].field: reason.
package tracking

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kizuna-cs/kizuna/internal/ingest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// Limits of the contract (CONTRACT.md, "HTTP").
const (
	MaxRequest   = 500 << 10 // bytes of a request body (after gzip)
	MaxEvent     = 32 << 10  // bytes of one call
	maxIDLen     = 255       // messageId, userId, anonymousId, groupId
	maxEventName = 255
)

// Error is a payload that cannot be accepted: Status is 400 (malformed) or
// 413 (too large); Field names what was wrong ("batch[3].event").
type Error struct {
	Status int
	Field  string
	Reason string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

func bad(field, format string, args ...any) *Error {
	return &Error{Status: 400, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Kinds of endpoints: "batch" or one call type.
var callTypes = map[string]bool{"track": true, "identify": true, "group": true, "page": true, "screen": true, "alias": true}

// minTime is the earliest timestamp accepted; future is how far ahead of
// the server's clock one may be.
var (
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	future  = 24 * time.Hour
)

// wireMessage is one call as sent. Ids and times stay raw so that their
// types are checked here, with the field's name in the error.
type wireMessage struct {
	Type              *string         `json:"type"`
	MessageID         json.RawMessage `json:"messageId"`
	UserID            json.RawMessage `json:"userId"`
	AnonymousID       json.RawMessage `json:"anonymousId"`
	Event             json.RawMessage `json:"event"`
	Name              json.RawMessage `json:"name"`
	GroupID           json.RawMessage `json:"groupId"`
	Properties        json.RawMessage `json:"properties"`
	Traits            json.RawMessage `json:"traits"`
	Context           json.RawMessage `json:"context"`
	Timestamp         json.RawMessage `json:"timestamp"`
	OriginalTimestamp json.RawMessage `json:"originalTimestamp"`
	SentAt            json.RawMessage `json:"sentAt"`

	// Set by the scanner (scan.go), which finds these keys as it validates
	// the objects: the value of the top-level key (nil when absent), so
	// that the objects need not be decoded again.
	ctxScanned, propScanned, traitsScanned bool
	ctxGroupID, propAccountID, traitsName  json.RawMessage
}

type wireBatch struct {
	Batch   json.RawMessage `json:"batch"`
	SentAt  json.RawMessage `json:"sentAt"`
	Context json.RawMessage `json:"context"`
}

// Decode validates the body of POST /v1/KIND (KIND "batch", "track",
// "identify", "group", "page", "screen" or "alias") received at now, and
// returns the calls to store. Errors are *Error.
func Decode(kind string, body []byte, now time.Time) (ingest.Batch, error) {
	var out ingest.Batch
	if kind != "batch" {
		if !callTypes[kind] {
			return out, bad("", "unknown endpoint /v1/%s", kind)
		}
		if len(body) > MaxEvent {
			return out, &Error{Status: 413, Reason: fmt.Sprintf("the call is %d bytes, more than %d", len(body), MaxEvent)}
		}
		if err := decodeMessage(&out, kind, "", body, nil, now); err != nil {
			return ingest.Batch{}, err
		}
		return out, nil
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return out, bad("", "the body must be a JSON object with a batch array")
	}
	if b, ok := decodeFast(body, now); ok {
		return b, nil
	}
	return decodeSlow(body, now)
}

// decodeSlow decodes a batch with encoding/json, a call at a time, and
// names the first problem.
func decodeSlow(body []byte, now time.Time) (ingest.Batch, error) {
	var out ingest.Batch
	var wb wireBatch
	if err := json.Unmarshal(body, &wb); err != nil {
		return out, jsonError("", err)
	}
	items, err := splitArray(wb.Batch)
	if err != nil {
		return out, err
	}
	if len(items) == 0 {
		return out, bad("batch", "at least one call is required")
	}
	sentAt, err := optTime("sentAt", wb.SentAt)
	if err != nil {
		return out, err
	}
	out.Events = make([]ingest.Event, 0, len(items))
	for i, raw := range items {
		field := "batch[" + strconv.Itoa(i) + "]"
		if len(raw) > MaxEvent {
			return ingest.Batch{}, &Error{Status: 413, Field: field, Reason: fmt.Sprintf("the call is %d bytes, more than %d", len(raw), MaxEvent)}
		}
		if err := decodeMessage(&out, "", field, raw, sentAt, now); err != nil {
			return ingest.Batch{}, err
		}
	}
	return out, nil
}

// wireMessages keeps the scanner's message slices from one request to the
// next: at 128 of 400 bytes each, allocating one a request was a fifth of
// the server's garbage under load.
var wireMessages = sync.Pool{New: func() any { return &[]wireMessage{} }}

// decodeFast decodes a valid batch in one pass (scan.go); ok is false when
// the slow path must decode it to name the problem (or to handle what the
// scanner leaves to encoding/json).
func decodeFast(body []byte, now time.Time) (ingest.Batch, bool) {
	// The calls keep sub-slices of the body (properties) while they wait in
	// the queue, possibly after the request's buffer has been reused (a
	// client that goes away does not wait): they get a copy of their own.
	own := bytes.Clone(body)
	buf := wireMessages.Get().(*[]wireMessage)
	msgs, rawSentAt, ok := scanBatch(own, *buf)
	defer func() {
		// The calls keep nothing of msgs itself, only sub-slices of own.
		if cap(msgs) > cap(*buf) {
			*buf = msgs
		}
		all := (*buf)[:cap(*buf)]
		clear(all)
		*buf = all[:0]
		wireMessages.Put(buf)
	}()
	if !ok {
		return ingest.Batch{}, false
	}
	sentAt, err := optTime("sentAt", rawSentAt)
	if err != nil {
		return ingest.Batch{}, false
	}
	out := ingest.Batch{Events: make([]ingest.Event, 0, len(msgs))}
	// No field names: an error sends the batch to the slow path, which names it.
	times := &timeCache{}
	for i := range msgs {
		if err := decodeWire(&out, "", "", &msgs[i], sentAt, now, times); err != nil {
			return ingest.Batch{}, false
		}
	}
	return out, true
}

// splitArray checks that raw is an array (of anything) and returns its
// elements as sub-slices of raw.
func splitArray(raw json.RawMessage) ([]json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, bad("batch", "required: an array of calls")
	}
	if raw[0] != '[' {
		return nil, bad("batch", "want an array of calls, got %s", jsonKind(raw))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, jsonError("batch", err)
	}
	return items, nil
}

func decodeMessage(out *ingest.Batch, kind, field string, raw []byte, batchSentAt *time.Time, now time.Time) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		if field == "" {
			return bad("", "the body must be a JSON object")
		}
		return bad(field, "want an object, got %s", jsonKind(raw))
	}
	var m wireMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return jsonError(field, err)
	}
	return decodeWire(out, kind, field, &m, batchSentAt, now, nil)
}

// decodeWire checks one call and appends what it stores to out. times, if
// not nil, remembers parsed timestamps (the calls of a batch often share
// them).
func decodeWire(out *ingest.Batch, kind, field string, mp *wireMessage, batchSentAt *time.Time, now time.Time, times *timeCache) error {
	m := mp
	at := func(name string) string {
		if field == "" {
			return name
		}
		return field + "." + name
	}
	typ := kind
	if m.Type != nil && kind == "" {
		typ = *m.Type
	}
	if typ == "" {
		return bad(at("type"), "required: one of track, identify, group, page, screen, alias")
	}
	if !callTypes[typ] {
		return bad(at("type"), "%q is not one of track, identify, group, page, screen, alias", typ)
	}
	messageID, err := optString(at("messageId"), m.MessageID, false)
	if err != nil {
		return err
	}
	userID, err := optString(at("userId"), m.UserID, true)
	if err != nil {
		return err
	}
	anonID, err := optString(at("anonymousId"), m.AnonymousID, true)
	if err != nil {
		return err
	}
	if userID == "" && anonID == "" {
		return bad(at("userId"), "userId or anonymousId is required")
	}
	for _, o := range []struct {
		name string
		raw  json.RawMessage
	}{{"properties", m.Properties}, {"traits", m.Traits}, {"context", m.Context}} {
		if err := optObject(at(o.name), o.raw); err != nil {
			return err
		}
	}
	ts, err := timestamp(at, m, batchSentAt, now, times)
	if err != nil {
		return err
	}
	switch typ {
	case "alias":
		return nil
	case "identify":
		if userID == "" {
			return nil // anonymous traits: nothing to keep them with
		}
		out.Identifies = append(out.Identifies, ingest.Identify{UserID: userID, TS: ts.Unix(), Traits: string(nullToEmpty(m.Traits))})
		return nil
	case "group":
		groupID, err := optString(at("groupId"), m.GroupID, true)
		if err != nil {
			return err
		}
		if groupID == "" {
			return bad(at("groupId"), "required for a group call")
		}
		var traits struct {
			Name json.RawMessage `json:"name"`
		}
		if m.traitsScanned {
			traits.Name = m.traitsName
		} else if len(m.Traits) > 0 && string(m.Traits) != "null" {
			if err := json.Unmarshal(m.Traits, &traits); err != nil {
				return jsonError(at("traits"), err)
			}
		}
		name, err := optString(at("traits.name"), traits.Name, true)
		if err != nil {
			return err
		}
		out.Groups = append(out.Groups, ingest.Group{UserID: userID, GroupID: groupID, Name: name, TS: ts.Unix(),
			Traits: string(nullToEmpty(m.Traits))})
		return nil
	}

	var name string
	switch typ {
	case "track":
		if name, err = optString(at("event"), m.Event, false); err != nil {
			return err
		}
		if name == "" {
			return bad(at("event"), "required for a track call")
		}
	case "page", "screen":
		if name, err = optString(at("name"), m.Name, false); err != nil {
			return err
		}
		if name == "" {
			name = typ
		} else {
			name = typ + ":" + name
		}
	}
	if len(name) > maxEventName {
		return bad(at("event"), "longer than %d bytes", maxEventName)
	}
	e := ingest.Event{Event: usage.Event{MessageID: messageID, UserID: userID, Event: name, Timestamp: ts,
		Properties: nullToEmpty(m.Properties)}}
	if m.ctxScanned {
		if e.ContextGroupID, err = optString(at("context.groupId"), m.ctxGroupID, true); err != nil {
			return err
		}
	} else if len(m.Context) > 0 && bytes.Contains(m.Context, []byte(`"groupId"`)) {
		var c struct {
			GroupID json.RawMessage `json:"groupId"`
		}
		if err := json.Unmarshal(m.Context, &c); err != nil {
			return jsonError(at("context"), err)
		}
		if e.ContextGroupID, err = optString(at("context.groupId"), c.GroupID, true); err != nil {
			return err
		}
	}
	if m.propScanned {
		if e.PropertyAccountID, err = optString(at("properties.account_id"), m.propAccountID, true); err != nil {
			return err
		}
	} else if len(m.Properties) > 0 && bytes.Contains(m.Properties, []byte(`"account_id"`)) {
		var p struct {
			AccountID json.RawMessage `json:"account_id"`
		}
		if err := json.Unmarshal(m.Properties, &p); err != nil {
			return jsonError(at("properties"), err)
		}
		if e.PropertyAccountID, err = optString(at("properties.account_id"), p.AccountID, true); err != nil {
			return err
		}
	}
	out.Events = append(out.Events, e)
	return nil
}

// timestamp picks the call's time as Segment does and checks its range.
func timestamp(at func(string) string, m *wireMessage, batchSentAt *time.Time, now time.Time, times *timeCache) (time.Time, error) {
	check := func(name string, t time.Time) (time.Time, error) {
		if t.Before(minTime) {
			return t, bad(at(name), "%s is before 2000-01-01", t.Format(time.RFC3339))
		}
		if t.After(now.Add(future)) {
			return t, bad(at(name), "%s is more than a day in the future", t.Format(time.RFC3339))
		}
		return t.UTC(), nil
	}
	ts, hasTS, err := times.optTime(at, "timestamp", m.Timestamp)
	if err != nil {
		return time.Time{}, err
	}
	orig, hasOrig, err := times.optTime(at, "originalTimestamp", m.OriginalTimestamp)
	if err != nil {
		return time.Time{}, err
	}
	sent, hasSent, err := times.optTime(at, "sentAt", m.SentAt)
	if err != nil {
		return time.Time{}, err
	}
	if !hasSent && batchSentAt != nil {
		sent, hasSent = *batchSentAt, true
	}
	switch {
	case hasTS:
		return check("timestamp", ts)
	case hasOrig && hasSent:
		if _, err := check("originalTimestamp", orig); err != nil {
			return time.Time{}, err
		}
		return check("originalTimestamp", now.Add(-sent.Sub(orig)))
	case hasOrig:
		return check("originalTimestamp", orig)
	}
	return now.UTC(), nil
}

// optString reads an optional string (or, with numbers, a number, kept as
// written). null and absent are "".
func optString(field string, raw json.RawMessage, numbers bool) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	s, valid := plainString(raw) // valid UTF-8 already
	switch {
	case valid:
	case raw[0] == '"':
		var ok bool
		if s, ok = unquote(raw); !ok {
			return "", bad(field, "invalid string")
		}
	case numbers && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
		s = string(raw)
	default:
		want := "a string"
		if numbers {
			want = "a string or a number"
		}
		return "", bad(field, "want %s, got %s", want, jsonKind(raw))
	}
	if len(s) > maxIDLen && !strings.HasSuffix(field, "event") && !strings.HasSuffix(field, "name") {
		return "", bad(field, "longer than %d bytes", maxIDLen)
	}
	if !valid && !utf8.ValidString(s) {
		return "", bad(field, "not valid UTF-8")
	}
	return strings.TrimSpace(s), nil
}

func optObject(field string, raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" || raw[0] == '{' {
		return nil
	}
	return bad(field, "want an object, got %s", jsonKind(raw))
}

// optTime reads an optional RFC 3339 date-time.
func optTime(field string, raw json.RawMessage) (*time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '"' {
		return nil, bad(field, "want an ISO 8601 date-time string like 2024-05-01T12:00:00Z, got %s", jsonKind(raw))
	}
	s, plain := plainString(raw)
	if !plain {
		if s, plain = unquote(raw); !plain {
			return nil, bad(field, "invalid string")
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, bad(field, "%q is not an ISO 8601 date-time like 2024-05-01T12:00:00Z", truncate(s, 40))
	}
	return &t, nil
}

// timeCache remembers the last timestamp parsed: the calls of a batch often
// share one, and time.Parse is a good part of a call's decoding.
type timeCache struct {
	raw []byte
	t   time.Time
}

// optTime is optTime(at(name), raw), from the cache when raw is the last
// one parsed (ok false: absent or null). A nil cache parses every time.
func (c *timeCache) optTime(at func(string) string, name string, raw json.RawMessage) (t time.Time, ok bool, err error) {
	if c != nil && c.raw != nil && bytes.Equal(raw, c.raw) {
		return c.t, true, nil
	}
	p, err := optTime(at(name), raw)
	if err != nil || p == nil {
		return time.Time{}, false, err
	}
	if c != nil {
		c.raw, c.t = raw, *p
	}
	return *p, true, nil
}

// unquote decodes a JSON string with encoding/json (in a function of its
// own, so that callers' results do not escape to the heap).
func unquote(raw []byte) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func nullToEmpty(raw json.RawMessage) json.RawMessage {
	if string(raw) == "null" {
		return nil
	}
	return raw
}

func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch c := raw[0]; {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	default:
		return "a number"
	}
}

// jsonError turns a json.Unmarshal error into an *Error naming the field.
func jsonError(field string, err error) *Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		f := te.Field
		if field != "" && f != "" {
			f = field + "." + f
		} else if f == "" {
			f = field
		}
		return bad(f, "want %s, got %s", goTypeName(te.Type.String()), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		where := "the body"
		if field != "" {
			where = field
		}
		return bad("", "malformed JSON in %s at byte %d: %s", where, se.Offset, se.Error())
	}
	return bad(field, "malformed JSON: %v", err)
}

func goTypeName(t string) string {
	switch {
	case t == "string" || t == "*string":
		return "a string"
	case strings.HasPrefix(t, "map") || strings.HasPrefix(t, "struct") || strings.HasPrefix(t, "segment."):
		return "an object"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	}
	return t
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
