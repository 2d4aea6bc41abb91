package tracking_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/tracking"
)

// FuzzDecode: the decoder never panics, fails only with *tracking.Error of
// status 400 or 413, and what it accepts satisfies the rules.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"batch":[` + goodTrack + `]}`,
		`{"batch":[{"type":"identify","userId":"u","traits":{"name":"A"}},{"type":"group","userId":"u","groupId":"g","traits":{"name":"G"}}],"sentAt":"2024-05-01T10:00:01Z"}`,
		`{"batch":[{"type":"page","anonymousId":"a","name":"Home","originalTimestamp":"2024-05-01T10:00:00Z","sentAt":"2024-05-01T10:00:05Z"}]}`,
		`{"batch":[{"type":"track","userId":12,"event":"e","properties":{"account_id":5},"context":{"groupId":"g"}}]}`,
		`{"batch":[{"type":"track","userId":"u"}]}`,
		`{"batch":{}}`, `[]`, `{"batch":[1,"x",null]}`, `{"batch":[{"type":"alias","userId":"u","previousId":"p"}]}`,
	} {
		f.Add("batch", []byte(s))
	}
	f.Add("track", []byte(`{"userId":"u","event":"e","timestamp":"2024-05-01T10:00:00.123+09:00"}`))
	f.Add("group", []byte(`{"userId":"u","groupId":"g"}`))
	f.Add("identify", []byte(`{"anonymousId":"a"}`))
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, kind string, body []byte) {
		b, err := tracking.Decode(kind, body, now)
		if err != nil {
			var se *tracking.Error
			if !errors.As(err, &se) || (se.Status != 400 && se.Status != 413 && se.Status != 415) {
				t.Fatalf("error %v (%T)", err, err)
			}
			if b.Len() != 0 {
				t.Fatalf("error %v with %d calls", err, b.Len())
			}
			return
		}
		for _, e := range b.Events {
			if e.Event.Event == "" || e.Timestamp.Year() < 2000 || e.Timestamp.After(now.Add(24*time.Hour)) {
				t.Fatalf("accepted bad event %+v", e)
			}
		}
		for _, g := range b.Groups {
			if g.GroupID == "" {
				t.Fatalf("accepted group without id %+v", g)
			}
		}
	})
}
