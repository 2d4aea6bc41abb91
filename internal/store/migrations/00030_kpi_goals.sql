-- KPI goals (DESIGN.md C14, issue 9 part 4): a SMART target on one metric
-- (any monthly SaaS metric, NPS/CSAT/CES), optionally for one owner's book or
-- one tier, with a deadline, an owner and an optional parent goal. Owned by
-- internal/goal. Actuals, forecast and status are computed when read, never
-- stored, so they always follow the metrics page.

-- +goose Up
CREATE TABLE kpi_goals (
    goal_id      TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    metric       TEXT NOT NULL,               -- a key of goal.Metrics
    scope_by     TEXT NOT NULL DEFAULT '' CHECK (scope_by IN ('', 'owner', 'tier')),
    scope_value  TEXT NOT NULL DEFAULT '',    -- the owner's email or the tier; '' with scope_by ''
    target       DOUBLE PRECISION NOT NULL,
    direction    TEXT NOT NULL CHECK (direction IN ('at_least', 'at_most')),
    baseline     DOUBLE PRECISION,            -- NULL: the actual of the month before the start
    start_day    INTEGER NOT NULL,            -- day number of the start date
    deadline_day INTEGER NOT NULL CHECK (deadline_day >= start_day),
    owner_email  TEXT NOT NULL,
    parent_id    TEXT REFERENCES kpi_goals (goal_id),
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE INDEX kpi_goals_parent ON kpi_goals (parent_id);

-- +goose Down
DROP TABLE kpi_goals;
