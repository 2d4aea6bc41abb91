package feedback

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/support"
)

// FAQCandidate is a topic customers keep asking about: a word of the
// inquiries' subjects, or their category.
type FAQCandidate struct {
	Topic    string   `json:"topic"`
	Kind     string   `json:"kind" enum:"word,category" doc:"word: a normalised word of the subjects; category: the tickets' category."`
	Count    int      `json:"count" doc:"Tickets (each counted once per topic)."`
	Examples []string `json:"examples" doc:"Up to three of their subjects, newest first."`
}

// stopWords are English words too common to be a topic.
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`the and for with from this that have has not can cannot our your you are was were
		how what when why where who does did get got will would could should please help need issue problem question
		about into after before any all its it's there their them they then than too very just also re fw fwd hi hello`) {
		stopWords[w] = true
	}
}

// Topics are the normalised words of a subject: NFKC (full-width Latin
// and half-width katakana folded), lower case; Latin words of three
// letters or more that are not stop words, and runs of two or more kanji
// or katakana (Japanese has no spaces: hiragana, mostly particles and
// endings, separates the words that carry the topic).
func Topics(subject string) []string {
	s := strings.ToLower(norm.NFKC.String(subject))
	var out []string
	seen := map[string]bool{}
	add := func(w []rune, latin bool) {
		if (latin && (len(w) < 3 || stopWords[string(w)])) || (!latin && len(w) < 2) {
			return
		}
		if !seen[string(w)] {
			seen[string(w)] = true
			out = append(out, string(w))
		}
	}
	var cur []rune
	latin := false
	flush := func() {
		if len(cur) > 0 {
			add(cur, latin)
		}
		cur = cur[:0]
	}
	for _, r := range s {
		isLatin := r < unicode.MaxLatin1 && (unicode.IsLetter(r) || unicode.IsDigit(r))
		isJa := unicode.Is(unicode.Han, r) || unicode.Is(unicode.Katakana, r) || r == 'ー'
		switch {
		case isLatin && (len(cur) == 0 || latin):
			latin = true
			cur = append(cur, r)
		case isJa && (len(cur) == 0 || !latin):
			latin = false
			cur = append(cur, r)
		case isLatin || isJa:
			flush()
			latin = isLatin
			cur = append(cur, r)
		default:
			flush()
		}
	}
	flush()
	// Numbers alone (order numbers, dates) are no topic.
	return slices.DeleteFunc(out, func(w string) bool {
		return strings.IndexFunc(w, func(r rune) bool { return !unicode.IsDigit(r) }) < 0
	})
}

// FAQCandidates counts the topics of the tickets opened in the days before
// now: each word of their subjects and each category, in how many tickets
// it occurs; those of at least two tickets, most frequent first (ties by
// topic), at most limit (0: 20).
func FAQCandidates(ctx context.Context, q store.Querier, now time.Time, days, limit int) ([]FAQCandidate, error) {
	if days <= 0 {
		days = 90
	}
	if limit <= 0 {
		limit = 20
	}
	tickets, err := support.OpenedBetween(ctx, q, now.AddDate(0, 0, -days), now.Add(time.Second))
	if err != nil {
		return nil, err
	}
	type key struct{ kind, topic string }
	found := map[key]*FAQCandidate{}
	count := func(k key, subject string) {
		c := found[k]
		if c == nil {
			c = &FAQCandidate{Topic: k.topic, Kind: k.kind}
			found[k] = c
		}
		c.Count++
		if subject != "" && len(c.Examples) < 3 && !slices.Contains(c.Examples, subject) {
			c.Examples = append(c.Examples, subject)
		}
	}
	// Newest first, so the examples are recent ones.
	for i := len(tickets) - 1; i >= 0; i-- {
		t := tickets[i]
		subject := strings.TrimSpace(t.Subject)
		for _, w := range Topics(subject) {
			count(key{"word", w}, subject)
		}
		if c := strings.ToLower(strings.TrimSpace(t.Category)); c != "" {
			count(key{"category", c}, subject)
		}
	}
	var out []FAQCandidate
	for _, c := range found {
		if c.Count >= 2 {
			out = append(out, *c)
		}
	}
	slices.SortFunc(out, func(a, b FAQCandidate) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Topic, b.Topic))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
