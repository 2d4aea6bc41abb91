package account

import (
	"context"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// AttributesOf returns the custom attributes of several objects of one kind
// in one query per thousand ids, keyed by id and typed as [Attributes] types
// them. Objects without attributes are absent from the result.
func AttributesOf(ctx context.Context, q store.Querier, object string, ids []string) (map[string]map[string]any, error) {
	table, key, err := attrTable(object)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]any{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), store.MaxInList)]
		ids = ids[len(chunk):]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, object)
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := q.QueryContext(ctx, `SELECT v.`+key+`, v.name, v.value, COALESCE(d.type, 'text') FROM `+table+` v
			LEFT JOIN attribute_defs d ON d.object = $1 AND d.name = v.name
			WHERE v.`+key+` IN (`+store.Placeholders(2, len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("attributes of %d %ss: %w", len(chunk), object, err)
		}
		for rows.Next() {
			var id, n, v, t string
			if err := rows.Scan(&id, &n, &v, &t); err != nil {
				rows.Close()
				return nil, fmt.Errorf("attributes of %d %ss: %w", len(chunk), object, err)
			}
			if out[id] == nil {
				out[id] = map[string]any{}
			}
			out[id][n] = Value(AttrType(t), v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("attributes of %d %ss: %w", len(chunk), object, err)
		}
	}
	return out, nil
}
