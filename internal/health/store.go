package health

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Errors of the model store.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// Models lists the stored models in selection order (the default last).
func Models(ctx context.Context, q store.Querier) ([]Model, error) {
	rows, err := q.QueryContext(ctx, `SELECT model_id, definition, version FROM health_models ORDER BY priority, model_id`)
	if err != nil {
		return nil, fmt.Errorf("list health models: %w", err)
	}
	ms, err := store.Collect(rows, func(sc interface{ Scan(...any) error }) (Model, error) {
		var id, def string
		var version int64
		if err := sc.Scan(&id, &def, &version); err != nil {
			return Model{}, err
		}
		var m Model
		if err := json.Unmarshal([]byte(def), &m); err != nil {
			return m, fmt.Errorf("model %q: stored definition: %w", id, err)
		}
		m.ID, m.Version = id, version
		return m, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list health models: %w", err)
	}
	slices.SortStableFunc(ms, func(a, b Model) int { return order(&a, &b) })
	return ms, nil
}

// GetModel returns the stored model id.
func GetModel(ctx context.Context, q store.Querier, id string) (Model, error) {
	ms, err := Models(ctx, q)
	if err != nil {
		return Model{}, err
	}
	for _, m := range ms {
		if m.ID == id {
			return m, nil
		}
	}
	return Model{}, fmt.Errorf("health model %q: %w", id, ErrNotFound)
}

// SaveModel validates m, checks that the set of models stays valid with it,
// and stores it: a new model when create is true (ErrExists if the id is
// taken), else a replacement of an existing one (ErrNotFound otherwise). It
// returns the stored model with its version.
func SaveModel(ctx context.Context, q store.Querier, m Model, create bool) (Model, error) {
	if err := m.Validate(); err != nil {
		return m, err
	}
	all, err := Models(ctx, q)
	if err != nil {
		return m, err
	}
	found := false
	var version int64
	for i := range all {
		if all[i].ID == m.ID {
			found, version = true, all[i].Version
			all[i] = m
		}
	}
	switch {
	case create && found:
		return m, fmt.Errorf("health model %q: %w", m.ID, ErrExists)
	case !create && !found:
		return m, fmt.Errorf("health model %q: %w", m.ID, ErrNotFound)
	case create:
		all = append(all, m)
	}
	if err := ValidateSet(all); err != nil {
		return m, err
	}
	m.Version = version + 1
	if err := putModel(ctx, q, m); err != nil {
		return m, err
	}
	return m, nil
}

func putModel(ctx context.Context, q store.Querier, m Model) error {
	v := m.Version
	m.Version = 0
	def, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store health model %q: %w", m.ID, err)
	}
	_, err = q.ExecContext(ctx, `INSERT INTO health_models (model_id, priority, definition, version, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (model_id) DO UPDATE SET priority = excluded.priority, definition = excluded.definition,
		version = excluded.version, updated_at = excluded.updated_at`, m.ID, m.Priority, string(def), v, store.Now())
	if err != nil {
		return fmt.Errorf("store health model %q: %w", m.ID, err)
	}
	return nil
}

// DeleteModel removes model id; the default model can only go last.
func DeleteModel(ctx context.Context, q store.Querier, id string) (Model, error) {
	all, err := Models(ctx, q)
	if err != nil {
		return Model{}, err
	}
	var gone Model
	var rest []Model
	for _, m := range all {
		if m.ID == id {
			gone = m
		} else {
			rest = append(rest, m)
		}
	}
	if gone.ID == "" {
		return gone, fmt.Errorf("health model %q: %w", id, ErrNotFound)
	}
	if err := ValidateSet(rest); err != nil {
		return gone, fmt.Errorf("delete health model %q: the other models would not be valid: %w", id, err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM health_models WHERE model_id = $1`, id); err != nil {
		return gone, fmt.Errorf("delete health model %q: %w", id, err)
	}
	return gone, nil
}

// File is the export and import format: every model.
type File struct {
	Models []Model `json:"models"`
}

// ReadFile decodes an export file, refusing unknown fields so that a typo
// in a key is not silently dropped.
func ReadFile(r io.Reader) (File, error) {
	var f File
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("read health models file: %w", err)
	}
	return f, nil
}

// Import replaces all models with f's, all or nothing: every model is
// validated first, and nothing is written when one fails. Versions continue
// from the stored ones.
func Import(ctx context.Context, q store.Querier, f File) ([]Model, error) {
	if err := ValidateSet(f.Models); err != nil {
		return nil, fmt.Errorf("import health models: %w", err)
	}
	old, err := Models(ctx, q)
	if err != nil {
		return nil, err
	}
	versions := map[string]int64{}
	for _, m := range old {
		versions[m.ID] = m.Version
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM health_models`); err != nil {
		return nil, fmt.Errorf("import health models: %w", err)
	}
	out := make([]Model, len(f.Models))
	for i, m := range f.Models {
		m.Version = versions[m.ID] + 1
		if err := putModel(ctx, q, m); err != nil {
			return nil, fmt.Errorf("import health models: %w", err)
		}
		out[i] = m
	}
	return out, nil
}

// Export returns every model as an import file; versions are left out, as
// the importing database counts its own.
func Export(ctx context.Context, q store.Querier) (File, error) {
	ms, err := Models(ctx, q)
	if err != nil {
		return File{}, err
	}
	for i := range ms {
		ms[i].Version = 0
	}
	if ms == nil {
		ms = []Model{}
	}
	return File{Models: ms}, nil
}

// nullFloat is a nullable column as a pointer.
func nullFloat(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}
