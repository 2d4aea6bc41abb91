package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/churn"
	"github.com/kizuna-cs/kizuna/internal/coverage"
	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// SettingsCmd groups the settings commands.
type SettingsCmd struct {
	List  SettingsListCmd  `cmd:"" help:"List the settings."`
	Set   SettingsSetCmd   `cmd:"" help:"Set one (kizuna settings set KEY VALUE; README lists the keys)."`
	Unset SettingsUnsetCmd `cmd:"" help:"Remove one, so its default applies again."`
}

// SettingsListCmd lists the settings.
type SettingsListCmd struct{}

// Run prints every setting.
func (SettingsListCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT key, value FROM settings ORDER BY key`)
	if err != nil {
		return err
	}
	defer rows.Close()
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		if strings.HasPrefix(k, "demo") {
			continue // the demo generator's own bookkeeping
		}
		fmt.Fprintf(tw, "%s\t%s\n", k, v)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return tw.Flush()
}

// SettingsSetCmd sets one setting.
type SettingsSetCmd struct {
	Key   string `arg:"" help:"The setting."`
	Value string `arg:"" help:"Its value: a currency code, a fraction between 0 and 1, a number, an event name or list, or an attribute name."`
}

// settingOwner is the package that reads a group of settings and checks
// their values.
type settingOwner struct {
	is  func(key string) bool
	set func(ctx context.Context, q store.Querier, key, value string) (string, error)
}

// settingOwners are every package with settings; a key belongs to the
// first whose is accepts it.
var settingOwners = []settingOwner{
	{func(k string) bool { return k == "reporting_currency" }, func(ctx context.Context, q store.Querier, _, v string) (string, error) {
		before, err := billing.ReportingCurrency(ctx, q)
		if err == nil {
			err = billing.SetReportingCurrency(ctx, q, v)
		}
		return before, err
	}},
	{metrics.IsSetting, metrics.SetSetting},
	{snapshot.IsSetting, snapshot.SetSetting},
	{coverage.IsSetting, coverage.SetSetting},
	{func(k string) bool { return k == playbook.FallbackSetting }, playbook.SetFallbackAssignee},
	{churn.IsSetting, churn.SetSetting},
}

// settingKeys names the settings for an unknown key's message.
const settingKeys = "reporting_currency, gross_margin, gross_margin.plan.NAME, gross_margin.product.NAME, tier_attribute, " +
	"key_features, login_event, setup_event, onboarding_days, touch_tier.basis, touch_tier.high, touch_tier.low, " +
	churn.SettingRetrainDays + ", " + churn.SettingHistoryDays + " or " + playbook.FallbackSetting

func ownerOf(key string) (settingOwner, error) {
	for _, o := range settingOwners {
		if o.is(key) {
			return o, nil
		}
	}
	return settingOwner{}, UsageError{fmt.Errorf("%w %q: want %s", metrics.ErrUnknownSetting, key, settingKeys)}
}

// Run validates and stores the setting, with an audit entry.
func (c SettingsSetCmd) Run(ctx context.Context, g *Globals) error {
	owner, err := ownerOf(c.Key)
	if err != nil {
		return err
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := owner.set(ctx, tx, c.Key, c.Value)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.CLIActor(), audit.ActionUpdate, "setting", c.Key, settingValue(before), settingValue(c.Value)); err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "%s = %s\n", c.Key, c.Value)
		return nil
	})
}

func settingValue(v string) any {
	if v == "" {
		return nil
	}
	return map[string]string{"value": v}
}

// SettingsUnsetCmd removes one setting.
type SettingsUnsetCmd struct {
	Key string `arg:"" help:"The setting."`
}

// Run removes the setting, with an audit entry.
func (c SettingsUnsetCmd) Run(ctx context.Context, g *Globals) error {
	if _, err := ownerOf(c.Key); err != nil {
		return err
	}
	if c.Key == "reporting_currency" {
		return UsageError{errors.New("reporting_currency cannot be unset: set another currency instead")}
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.InTx(ctx, func(tx *sql.Tx) error {
		var before string
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(value), '') FROM settings WHERE key = $1`, c.Key).Scan(&before); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = $1`, c.Key); err != nil {
			return fmt.Errorf("unset %s: %w", c.Key, err)
		}
		return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionDelete, "setting", c.Key, settingValue(before), nil)
	})
}

// FXCmd groups the exchange-rate commands.
type FXCmd struct {
	Set  FXSetCmd  `cmd:"" help:"Set the rate of a currency into the reporting currency from a day on."`
	List FXListCmd `cmd:"" help:"List the exchange rates."`
}

// FXSetCmd sets one exchange rate.
type FXSetCmd struct {
	Currency string `arg:"" help:"ISO 4217 code, e.g. JPY."`
	From     string `arg:"" help:"First day the rate is in force (YYYY-MM-DD)."`
	Rate     string `arg:"" help:"Units of the reporting currency for one unit of the currency, e.g. 0.0067."`
}

// Run stores the rate, with an audit entry.
func (c FXSetCmd) Run(ctx context.Context, g *Globals) error {
	from, err := time.Parse(time.DateOnly, c.From)
	if err != nil {
		return UsageError{fmt.Errorf("day %q: want YYYY-MM-DD", c.From)}
	}
	rate, err := strconv.ParseFloat(c.Rate, 64)
	if err != nil {
		return UsageError{fmt.Errorf("rate %q is not a number", c.Rate)}
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if err := billing.SetFXRate(ctx, tx, c.Currency, from, rate); err != nil {
			return err
		}
		r := billing.FXRate{Currency: strings.ToUpper(c.Currency), From: from, Rate: rate}
		if err := audit.Record(ctx, tx, audit.CLIActor(), audit.ActionUpdate, "fx_rate", r.Currency+"/"+c.From, nil, r); err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "1 %s = %v from %s\n", r.Currency, rate, c.From)
		return nil
	})
}

// FXListCmd lists the exchange rates.
type FXListCmd struct{}

// Run prints every rate.
func (FXListCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	rates, err := billing.FXRates(ctx, db)
	if err != nil {
		return err
	}
	rep, err := billing.ReportingCurrency(ctx, db)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "currency\tfrom\trate (%s)\n", rep)
	for _, r := range rates {
		fmt.Fprintf(tw, "%s\t%s\t%v\n", r.Currency, r.From.Format(time.DateOnly), r.Rate)
	}
	return tw.Flush()
}
