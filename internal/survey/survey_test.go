package survey_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"math"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

// npsVectors is the published test-vector file (see its PROVENANCE.md).
const npsVectors = "../../../shared/datasets/nps/nps_test_vectors.csv"

var (
	distRe   = regexp.MustCompile(`^detractors=(\d+) passives=(\d+) promoters=(\d+)$`)
	groupRe  = regexp.MustCompile(`\[d(\d+) p(\d+) P(\d+)\]`)
	pooledRe = regexp.MustCompile(`\(pooled (?:counts )?d(\d+) p(\d+) P(\d+)\)$`)
)

// fromCounts builds scores for the given category counts, cycling through
// every score of each category (0–6, 7–8, 9–10) so the boundaries are used.
func fromCounts(d, p, P int) []int {
	var out []int
	for i := 0; i < d; i++ {
		out = append(out, i%7)
	}
	for i := 0; i < p; i++ {
		out = append(out, 7+i%2)
	}
	for i := 0; i < P; i++ {
		out = append(out, 9+i%2)
	}
	return out
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

// vectorScores turns the responses_or_counts column into scores; it knows the
// three forms the file uses and fails on anything else.
func vectorScores(t *testing.T, id, spec string) []int {
	t.Helper()
	spec = strings.TrimSpace(spec)
	switch {
	case distRe.MatchString(spec):
		m := distRe.FindStringSubmatch(spec)
		return fromCounts(atoi(t, m[1]), atoi(t, m[2]), atoi(t, m[3]))
	case strings.HasPrefix(spec, "["):
		groups := groupRe.FindAllStringSubmatch(spec, -1)
		pooled := pooledRe.FindStringSubmatch(spec)
		if len(groups) == 0 || pooled == nil {
			t.Fatalf("vector %s: cannot read pooled distributions %q", id, spec)
		}
		var scores []int
		var d, p, P int
		for _, g := range groups {
			gd, gp, gP := atoi(t, g[1]), atoi(t, g[2]), atoi(t, g[3])
			d, p, P = d+gd, p+gp, P+gP
			scores = append(scores, fromCounts(gd, gp, gP)...)
		}
		if d != atoi(t, pooled[1]) || p != atoi(t, pooled[2]) || P != atoi(t, pooled[3]) {
			t.Fatalf("vector %s: groups sum to d%d p%d P%d, the file says %s", id, d, p, P, pooled[0])
		}
		return scores
	default:
		var scores []int
		for _, f := range strings.Fields(spec) {
			s, err := strconv.Atoi(f)
			if err != nil || s < 0 || s > 10 {
				t.Fatalf("vector %s: %q is not a 0–10 score (in %q)", id, f, spec)
			}
			scores = append(scores, s)
		}
		return scores
	}
}

func TestNPSPublishedVectors(t *testing.T) {
	f, err := os.Open(npsVectors)
	if err != nil {
		t.Fatalf("the published NPS test vectors are required: %v (expected at %s, relative to internal/survey)", err, npsVectors)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", npsVectors, err)
	}
	if len(records) < 2 {
		t.Fatalf("%s holds no vectors", npsVectors)
	}
	header := strings.Join(records[0], ",")
	if header != "id,responses_or_counts,expected_nps_fraction,expected_nps_points" {
		t.Fatalf("%s: unexpected header %q", npsVectors, header)
	}
	kinds := map[string]int{}
	for _, r := range records[1:] {
		id, spec := r[0], r[1]
		frac, err1 := strconv.ParseFloat(r[2], 64)
		points, err2 := strconv.ParseFloat(r[3], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("vector %s: bad expectations %q, %q", id, r[2], r[3])
		}
		if math.Abs(frac*100-points) > 1e-9 {
			t.Fatalf("vector %s: fraction %v and points %v disagree", id, frac, points)
		}
		scores := vectorScores(t, id, spec)
		switch {
		case strings.HasPrefix(spec, "["):
			kinds["pooled"]++
		case strings.HasPrefix(spec, "detractors="):
			kinds["distribution"]++
		default:
			kinds["raw"]++
		}
		got, ok := survey.NPS(scores)
		if !ok || math.Abs(got-points) > 1e-9 {
			t.Errorf("vector %s: NPS(%d responses) = %v, %v; want %v", id, len(scores), got, ok, points)
		}
	}
	// The file's three forms were all read (18 vectors when this test was written).
	if kinds["raw"] < 7 || kinds["distribution"] < 7 || kinds["pooled"] < 3 {
		t.Fatalf("vector forms read: %v", kinds)
	}
}

func TestNPS(t *testing.T) {
	for _, c := range []struct {
		scores []int
		want   float64
		ok     bool
	}{
		{nil, 0, false},
		{[]int{}, 0, false},
		{[]int{10}, 100, true},
		{[]int{9}, 100, true},
		{[]int{8}, 0, true},
		{[]int{7}, 0, true},
		{[]int{6}, -100, true},
		{[]int{0}, -100, true},
		{[]int{9, 6}, 0, true},
		{[]int{0, 10, 10}, 100.0 / 3, true},
		{[]int{9, 9, 9, 0}, 50, true},
		{[]int{7, 8, 9, 10, 6, 5, 4}, 100 * (2.0 - 3.0) / 7, true},
		// 30 % promoters, 20 % detractors → +10 (the DELA glossary example).
		{[]int{9, 9, 9, 0, 0, 7, 7, 7, 7, 7}, 10, true},
	} {
		got, ok := survey.NPS(c.scores)
		if ok != c.ok || math.Abs(got-c.want) > 1e-9 {
			t.Errorf("NPS(%v) = %v, %v; want %v, %v", c.scores, got, ok, c.want, c.ok)
		}
	}
}

// CSAT = share of 1–5 responses that are 4 or 5 (CONTRACT.md).
func TestCSAT(t *testing.T) {
	for _, c := range []struct {
		scores []int
		want   float64
		ok     bool
	}{
		{nil, 0, false},
		{[]int{1, 2, 3, 4, 5}, 0.4, true},
		{[]int{4, 5}, 1, true},
		{[]int{3}, 0, true},
		{[]int{1, 1, 1}, 0, true},
		{[]int{5, 5, 5, 1}, 0.75, true},
		{[]int{4, 3, 4, 3, 4, 3}, 0.5, true},
	} {
		got, ok := survey.CSAT(c.scores)
		if ok != c.ok || math.Abs(got-c.want) > 1e-9 {
			t.Errorf("CSAT(%v) = %v, %v; want %v, %v", c.scores, got, ok, c.want, c.ok)
		}
	}
}

func TestScoreRange(t *testing.T) {
	want := map[string][2]int{"nps": {0, 10}, "csat": {1, 5}, "ces": {1, 7}}
	if !reflect.DeepEqual(survey.ScoreRange, want) {
		t.Fatalf("ScoreRange = %v, want %v", survey.ScoreRange, want)
	}
}

func TestMergeResponses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mustAccounts(t, db, "a1", "a2")
		d := func(day int) time.Time { return time.Date(2024, 5, day, 12, 0, 0, 0, time.UTC) }
		rows := [][]any{
			// response_id, account_id, contact_id, survey, kind, score, comment, answered_at
			{"r1", "a1", "c1", "q2-nps", "nps", int64(9), "great", d(1).Unix()},
			{"r2", "a1", "", "q2-nps", "nps", int64(3), "", d(3).Unix()},
			{"r3", "a1", "c2", "onboarding", "csat", int64(4), "ok", d(2).Unix()},
			{"r4", "a2", "", "q2-nps", "nps", int64(10), "", d(1).Unix()},
		}
		merge := func(now, want int64) {
			t.Helper()
			storetest.WithStage(t, db, "stage_responses", survey.StageResponses, survey.StageResponsesColumns, rows, func(tx *sql.Tx) {
				if n, err := survey.MergeResponses(ctx, tx, "stage_responses", now); err != nil || n != want {
					t.Fatalf("MergeResponses = %d, %v; want %d", n, err, want)
				}
			})
		}
		merge(10, 4)
		merge(20, 0)
		got, err := survey.Responses(ctx, db, "a1")
		if err != nil {
			t.Fatal(err)
		}
		want := []survey.Response{
			{ID: "r2", AccountID: "a1", Survey: "q2-nps", Kind: "nps", Score: 3, AnsweredAt: d(3)},
			{ID: "r3", AccountID: "a1", ContactID: "c2", Survey: "onboarding", Kind: "csat", Score: 4, Comment: "ok", AnsweredAt: d(2)},
			{ID: "r1", AccountID: "a1", ContactID: "c1", Survey: "q2-nps", Kind: "nps", Score: 9, Comment: "great", AnsweredAt: d(1)},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Responses(a1) =\n%+v\nwant\n%+v", got, want)
		}
		// NPS of a1's nps responses: one promoter, one detractor → 0.
		var scores []int
		for _, r := range got {
			if r.Kind == "nps" {
				scores = append(scores, r.Score)
			}
		}
		if v, ok := survey.NPS(scores); !ok || v != 0 {
			t.Fatalf("NPS of a1 = %v, %v; want 0", v, ok)
		}
		rows[1][5] = int64(8)
		merge(30, 1)
		got, _ = survey.Responses(ctx, db, "a1")
		if got[0].ID != "r2" || got[0].Score != 8 {
			t.Fatalf("r2 after the edit = %+v", got[0])
		}
		if got, err := survey.Responses(ctx, db, "a2"); err != nil || len(got) != 1 || got[0].Score != 10 {
			t.Fatalf("Responses(a2) = %+v, %v", got, err)
		}

		// A kind outside nps, csat, ces is refused by the table.
		bad := [][]any{{"r9", "a1", "", "s", "stars", int64(5), "", d(1).Unix()}}
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if err := db.CreateTempTable(ctx, tx, "stage_bad", "line BIGINT NOT NULL, "+survey.StageResponses); err != nil {
			t.Fatal(err)
		}
		l := db.NewBulkLoader(conn, tx, "stage_bad", append([]string{"line"}, survey.StageResponsesColumns...))
		if err := l.Add(ctx, append([]any{int64(2)}, bad[0]...)...); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := survey.MergeResponses(ctx, tx, "stage_bad", 40); err == nil {
			t.Fatal("MergeResponses with kind 'stars' succeeded")
		}
	})
}

func TestScoresOutOfRangeIgnored(t *testing.T) {
	if got, ok := survey.NPS([]int{10, 11, -1, 0}); !ok || got != 0 {
		t.Errorf("NPS ignoring out-of-range = %v, %v; want 0 (one promoter, one detractor)", got, ok)
	}
	if _, ok := survey.NPS([]int{11, 12}); ok {
		t.Error("NPS of only out-of-range scores reported ok")
	}
	if got, ok := survey.CSAT([]int{5, 6, 7, 1}); !ok || got != 0.5 {
		t.Errorf("CSAT ignoring 6 and 7 = %v, %v; want 0.5", got, ok)
	}
}
