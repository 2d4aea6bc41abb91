package store

import (
	"reflect"
	"testing"
)

func TestKeyset(t *testing.T) {
	tests := []struct {
		name        string
		col, id     string
		desc        bool
		key, after  any
		cond, order string
		args        []any
	}{
		{"first page", "name", "account_id", false, nil, "", "true", "name ASC, account_id ASC", []any{"x"}},
		{"first page, nil id", "start_at", "subscription_id", true, nil, nil, "true", "start_at DESC, subscription_id DESC", []any{"x"}},
		{"by id", "account_id", "account_id", false, nil, "a9", "account_id > $2", "account_id ASC", []any{"x", "a9"}},
		{"by id, descending", "account_id", "account_id", true, nil, "a9", "account_id < $2", "account_id DESC", []any{"x", "a9"}},
		{"by key then id", "opened_at", "ticket_id", true, int64(5), "t1", "(opened_at, ticket_id) < ($2, $3)", "opened_at DESC, ticket_id DESC", []any{"x", int64(5), "t1"}},
		{"composite key", "subscription_id", "start_at", false, "s1", int64(7), "(subscription_id, start_at) > ($2, $3)", "subscription_id ASC, start_at ASC", []any{"x", "s1", int64(7)}},
	}
	for _, tt := range tests {
		cond, order, args := Keyset(tt.col, tt.id, tt.desc, tt.key, tt.after, []any{"x"})
		if cond != tt.cond || order != tt.order || !reflect.DeepEqual(args, tt.args) {
			t.Errorf("%s: got %q, %q, %v; want %q, %q, %v", tt.name, cond, order, args, tt.cond, tt.order, tt.args)
		}
	}
	if PageLimit(0) != 100 || PageLimit(-1) != 100 || PageLimit(7) != 7 {
		t.Error("PageLimit")
	}
}

func TestConditionsPage(t *testing.T) {
	var c Conditions
	c.Add("status = $%d", "open")
	c.Add("account_id = $%d", "a1")
	page, args := c.Page("created_at", "task_id", true, int64(7), "t9", 20)
	want := " WHERE status = $1 AND account_id = $2 AND (created_at, task_id) < ($3, $4) ORDER BY created_at DESC, task_id DESC LIMIT $5"
	if page != want || len(args) != 5 || args[0] != "open" || args[2] != int64(7) || args[3] != "t9" || args[4] != 20 {
		t.Errorf("page %q %v\nwant %q", page, args, want)
	}
	var none Conditions
	if page, args := none.Page("task_id", "task_id", false, nil, "", 0); page != " WHERE true ORDER BY task_id ASC LIMIT $1" || len(args) != 1 || args[0] != 100 {
		t.Errorf("first page %q %v", page, args)
	}
}
