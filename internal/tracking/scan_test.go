package tracking

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

var scanNow = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// sameAsSlow checks that whatever the fast path accepts, the slow path
// (encoding/json) accepts with the same result.
func sameAsSlow(t *testing.T, body []byte) (fast bool) {
	t.Helper()
	got, ok := decodeFast(body, scanNow)
	if !ok {
		return false
	}
	want, err := decodeSlow(body, scanNow)
	if err != nil {
		t.Fatalf("fast path accepted what the slow path refuses (%v):\n%s", err, body)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fast and slow paths differ on\n%s\nfast %+v\nslow %+v", body, got, want)
	}
	return true
}

// TestScanFastPath: typical batches take the fast path with the slow path's
// results; what only encoding/json reads right is left to it.
func TestScanFastPath(t *testing.T) {
	track := `{"type":"track","messageId":"m1","userId":"u1","event":"Login","timestamp":"2024-05-01T10:00:00Z","context":{"groupId":"acc1","library":{"name":"x"}},"properties":{"plan":"pro","n":[1,2.5e3,-0.1,true,false,null]}}`
	for _, c := range []struct {
		name string
		body string
		fast bool
	}{
		{"track", `{"batch":[` + track + `]}`, true},
		{"white space", " {\n\t\"batch\" : [ " + track + " , " + strings.ReplaceAll(track, "m1", "m2") + " ] ,\"sentAt\":\"2024-05-01T10:00:05Z\" } ", true},
		{"mixed calls", `{"batch":[{"type":"identify","userId":"u","traits":{"name":"A"}},{"type":"group","userId":"u","groupId":"g","traits":{"name":"G","plan":{"name":"inner"}}},{"type":"page","anonymousId":"a","name":"Home","originalTimestamp":"2024-05-01T10:00:00Z","sentAt":"2024-05-01T10:00:05Z"},{"type":"alias","userId":"u","previousId":"p"}],"context":{"x":1}}`, true},
		{"numeric ids", `{"batch":[{"type":"track","userId":12,"event":"e","properties":{"account_id":5},"context":{"groupId":-7.5}}]}`, true},
		{"nested groupId ignored", `{"batch":[{"type":"track","userId":"u","event":"e","context":{"page":{"groupId":"no"}},"properties":{"x":{"account_id":"no"}}}]}`, true},
		{"repeated keys: the last wins", `{"batch":[{"type":"track","userId":"a","userId":"b","event":"e","context":{"groupId":"g1","groupId":"g2"}}]}`, true},
		{"null objects", `{"batch":[{"type":"track","userId":"u","event":"e","properties":null,"context":null,"traits":null}]}`, true},
		{"unicode id", `{"batch":[{"type":"track","userId":"ユーザー","event":"ログイン"}]}`, true},
		{"escaped id", `{"batch":[{"type":"track","userId":"a\"b\u00e9","event":"e"}]}`, true},
		{"shared timestamps", `{"batch":[{"type":"track","userId":"u","event":"a","timestamp":"2024-05-01T10:00:00Z"},{"type":"track","userId":"u","event":"b","timestamp":"2024-05-01T10:00:00Z"},{"type":"track","userId":"u","event":"c","timestamp":"2024-05-01T11:00:00+09:00"}]}`, true},

		{"key in another case", `{"batch":[{"type":"track","UserId":"u","event":"e"}]}`, false},
		{"groupId in another case", `{"batch":[{"type":"track","userId":"u","event":"e","context":{"GROUPID":"g"}}]}`, false},
		{"Kelvin sign folds to k", "{\"batch\":[{\"type\":\"track\",\"userId\":\"u\",\"event\":\"e\",\"properties\":{\"account_id\":1},\"context\":{\"groupId\":\"g\"},\"ma\u212Ay\":1}]}", true},
		{"escaped key", `{"batch":[{"type":"track","\u0075serId":"u","event":"e"}]}`, false},
		{"Batch key", `{"Batch":[{"type":"track","userId":"u","event":"e"}]}`, false},
		{"repeated batch", `{"batch":[],"batch":[{"type":"track","userId":"u","event":"e"}]}`, false},
		{"properties not an object", `{"batch":[{"type":"track","userId":"u","event":"e","properties":[1]}]}`, false},
		{"type not a string", `{"batch":[{"type":1,"userId":"u","event":"e"}]}`, false},
		{"trailing garbage", `{"batch":[{"type":"track","userId":"u","event":"e"}]}x`, false},
		{"bad number", `{"batch":[{"type":"track","userId":"u","event":"e","properties":{"n":01}}]}`, false},
		{"bad escape", `{"batch":[{"type":"track","userId":"u","event":"e","properties":{"n":"\x"}}]}`, false},
		{"missing event", `{"batch":[{"type":"track","userId":"u"}]}`, false},
		{"empty batch", `{"batch":[]}`, false},
		{"call over 32 KB", `{"batch":[{"type":"track","userId":"u","event":"e","properties":{"p":"` + strings.Repeat("x", MaxEvent) + `"}}]}`, false},
		{"deep nesting", `{"batch":[{"type":"track","userId":"u","event":"e","properties":{"p":` + strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1) + `}}]}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := sameAsSlow(t, []byte(c.body)); got != c.fast {
				t.Errorf("fast path %v, want %v", got, c.fast)
			}
		})
	}
}

// TestScanValidatesLikeEncodingJSON: the scanner's skipping of values
// accepts exactly the documents encoding/json accepts.
func TestScanValidatesLikeEncodingJSON(t *testing.T) {
	for _, v := range []string{
		`0`, `-0`, `1.5`, `-1e10`, `1E+2`, `1e-2`, `01`, `1.`, `.5`, `-`, `1e`, `+1`,
		`"a"`, `"\u12"`, `"\u12ab"`, `"\q"`, "\"\x01\"", "\"\xff\"", `"`,
		`true`, `tru`, `nul`, `null`, `[]`, `[1,]`, `[,1]`, `{}`, `{"a":1,}`, `{"a"}`, `{1:2}`, `[1 2]`,
		`{"a":{"b":[{"c":null}]}}`, ` [ 1 , 2 ] `,
	} {
		p := &scanner{s: []byte(v)}
		_, ok := p.value()
		ok = ok && p.peek() == 0
		if want := json.Valid([]byte(v)); ok != want {
			t.Errorf("%q: scanner %v, encoding/json %v", v, ok, want)
		}
	}
}

// FuzzScanMatchesStd holds the fast path to the slow path's results.
func FuzzScanMatchesStd(f *testing.F) {
	for _, s := range []string{
		`{"batch":[{"type":"track","messageId":"m","userId":"u1","event":"Login","timestamp":"2024-05-01T10:00:00Z","context":{"groupId":"acc1"},"properties":{"account_id":"x","a":[1,{"b":null}]}}]}`,
		`{"batch":[{"type":"identify","userId":"u","traits":{"name":"A"}},{"type":"group","userId":"u","groupId":"g","traits":{"name":"G"}}],"sentAt":"2024-05-01T10:00:01Z"}`,
		`{"batch":[{"type":"page","anonymousId":"a","name":"Home","originalTimestamp":"2024-05-01T10:00:00Z","sentAt":"2024-05-01T10:00:05Z"}]}`,
		`{"batch":[{"type":"track","userId":12,"event":"e","properties":{"account_id":5},"context":{"groupId":"g"}}]}`,
		`{"batch":[{"type":"screen","userId":"\u00e9","Name":"x","context":{"GroupId":1}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAsSlow(t, body)
	})
}
