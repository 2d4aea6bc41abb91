package store

import (
	"strconv"
	"strings"
)

// MaxInList is how many values a query should put in one IN list: well below
// the bound-variable limits of SQLite (32766) and PostgreSQL (65535), and
// small enough for the planners to handle quickly. Longer lists go in chunks.
const MaxInList = 1000

// Placeholders returns n comma-separated placeholders numbered from first,
// such as "$2, $3, $4" for Placeholders(2, 3), for an IN list built at run
// time. Both dialects accept $N, so the same text serves SQLite and PostgreSQL.
func Placeholders(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(first + i))
	}
	return b.String()
}
