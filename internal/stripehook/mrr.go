package stripehook

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v84"

	"github.com/kizuna-cs/kizuna/internal/money"
)

// This file turns a Stripe subscription into MRR over time. It is pure: the
// discounts a subscription names only by id are resolved from the database
// by the caller. All arithmetic is exact (big.Rat) in Stripe's minor units;
// only the final monthly amount is rounded, to Kizuna's minor unit.

// segment is a stretch of time [start, end) at one MRR; end 0 means open.
type segment struct {
	start, end int64
	mrrMinor   int64 // in Kizuna's minor unit of the timeline's currency
}

// timeline is what one subscription object says about its MRR over time.
type timeline struct {
	currency string // ISO 4217, upper case
	plan     string
	product  string
	quantity *float64
	segments []segment // in time order, adjacent segments differ in MRR
}

// pricedItem is one subscription item, priced per month before discounts.
type pricedItem struct {
	id      string
	product string
	monthly *big.Rat // MRR in Stripe minor units
	factor  *big.Rat // turns an amount per invoice of this item into an amount per month
}

// monthlyFactor is the number of this price's billing intervals in a month:
// a month is 1/12 of a year, 52/12 weeks or 365/12 days.
func monthlyFactor(r *stripe.PriceRecurring) (*big.Rat, error) {
	count := max(r.IntervalCount, 1)
	var num, den int64
	switch r.Interval {
	case stripe.PriceRecurringIntervalMonth:
		num, den = 1, count
	case stripe.PriceRecurringIntervalYear:
		num, den = 1, 12*count
	case stripe.PriceRecurringIntervalWeek:
		num, den = 52, 12*count
	case stripe.PriceRecurringIntervalDay:
		num, den = 365, 12*count
	default:
		return nil, fmt.Errorf("unknown billing interval %q", r.Interval)
	}
	return big.NewRat(num, den), nil
}

// decimal returns the exact decimal that stripe-go parsed into f (it reads
// Stripe's decimal strings such as unit_amount_decimal into float64), or
// whole when f is 0, that is when the decimal field was absent.
func decimal(f float64, whole int64) *big.Rat {
	if f == 0 {
		return new(big.Rat).SetInt64(whole)
	}
	// The shortest representation that reads back as f is the decimal Stripe sent.
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'f', -1, 64))
	if !ok {
		return new(big.Rat).SetInt64(whole)
	}
	return r
}

// invoiceAmount is what one billing interval of price costs at quantity, in
// Stripe's minor units. known is false when the webhook cannot tell: metered
// prices are billed on usage after the fact, and tiered prices arrive
// without their tiers unless the payload was expanded.
func invoiceAmount(p *stripe.Price, qty int64) (amount *big.Rat, known bool) {
	if p.Recurring != nil && p.Recurring.UsageType == stripe.PriceRecurringUsageTypeMetered {
		return new(big.Rat), false
	}
	if p.BillingScheme == stripe.PriceBillingSchemeTiered {
		if len(p.Tiers) == 0 {
			return new(big.Rat), false
		}
		return tieredAmount(p, qty), true
	}
	q := qty
	if t := p.TransformQuantity; t != nil && t.DivideBy > 1 {
		q = qty / t.DivideBy
		if t.Round == stripe.PriceTransformQuantityRoundUp && qty%t.DivideBy != 0 {
			q++
		}
	}
	return new(big.Rat).Mul(decimal(p.UnitAmountDecimal, p.UnitAmount), new(big.Rat).SetInt64(q)), true
}

// tieredAmount prices qty on a tiered price: volume pricing charges every
// unit at the tier qty falls in; graduated pricing charges each tier's units
// at that tier's price. A tier's flat amount is added once the tier is reached.
func tieredAmount(p *stripe.Price, qty int64) *big.Rat {
	sum := new(big.Rat)
	add := func(t *stripe.PriceTier, units int64) {
		sum.Add(sum, new(big.Rat).Mul(decimal(t.UnitAmountDecimal, t.UnitAmount), new(big.Rat).SetInt64(units)))
		sum.Add(sum, decimal(t.FlatAmountDecimal, t.FlatAmount))
	}
	if p.TiersMode == stripe.PriceTiersModeVolume {
		for _, t := range p.Tiers {
			if t.UpTo == 0 || qty <= t.UpTo { // up_to null (0 here) is the open-ended last tier
				add(t, qty)
				break
			}
		}
		return sum
	}
	var below int64 // units priced in the tiers before
	for _, t := range p.Tiers {
		if below >= qty {
			break
		}
		upper := t.UpTo
		if upper == 0 || upper > qty {
			upper = qty
		}
		add(t, upper-below)
		below = upper
	}
	return sum
}

// priceLabel names a price as a plan: its lookup key, nickname or id.
func priceLabel(p *stripe.Price) string {
	for _, s := range []string{p.LookupKey, p.Nickname, p.ID} {
		if s != "" {
			return s
		}
	}
	return ""
}

// discountActive reports whether d reduces MRR at instant t. A coupon with
// duration "once" only reduces the first invoice, a one-off rather than a
// change in recurring revenue, so it never reduces MRR. A "repeating"
// coupon runs until the discount's end (or duration_in_months after its
// start when the end is missing), "forever" until the discount is removed.
func discountActive(d discount, t int64) bool {
	if d.coupon == nil || d.coupon.Duration == stripe.CouponDurationOnce {
		return false
	}
	if d.start > 0 && t < d.start {
		return false
	}
	end := discountEnd(d)
	return end == 0 || t < end
}

// discountEnd is when d stops reducing MRR; 0 means not before it is removed.
func discountEnd(d discount) int64 {
	if d.end == 0 && d.coupon != nil && d.coupon.Duration == stripe.CouponDurationRepeating && d.coupon.DurationInMonths > 0 && d.start > 0 {
		return addMonths(d.start, d.coupon.DurationInMonths)
	}
	return d.end
}

// addMonths adds n calendar months to unix time t in UTC, as Stripe counts
// a repeating coupon's months.
func addMonths(t int64, n int64) int64 {
	return time.Unix(t, 0).UTC().AddDate(0, int(n), 0).Unix()
}

// amountOff is the coupon's fixed amount off in currency, in Stripe minor
// units; ok is false when the coupon has no amount in that currency, in
// which case Stripe does not apply it either.
func amountOff(c *stripe.Coupon, currency string) (int64, bool) {
	if strings.EqualFold(string(c.Currency), currency) {
		return c.AmountOff, true
	}
	if o := c.CurrencyOptions[strings.ToLower(currency)]; o != nil {
		return o.AmountOff, true
	}
	return 0, false
}

// applyDiscount reduces the monthly amounts vals of the items it applies to
// (eligible) by d. A percentage scales each; a fixed amount, which Stripe
// takes off each invoice, is turned into a monthly amount with factor and
// taken from the eligible items in proportion to their amounts, never below 0.
func applyDiscount(vals []*big.Rat, eligible []bool, d discount, currency string, factor *big.Rat) {
	c := d.coupon
	switch {
	case c.PercentOff > 0:
		keep := new(big.Rat).Sub(big.NewRat(1, 1), new(big.Rat).Quo(decimal(c.PercentOff, 0), big.NewRat(100, 1)))
		if keep.Sign() < 0 {
			keep.SetInt64(0)
		}
		for i := range vals {
			if eligible[i] {
				vals[i].Mul(vals[i], keep)
			}
		}
	case c.AmountOff > 0 || len(c.CurrencyOptions) > 0:
		off, ok := amountOff(c, currency)
		if !ok || off <= 0 {
			return
		}
		subtotal := new(big.Rat)
		for i := range vals {
			if eligible[i] {
				subtotal.Add(subtotal, vals[i])
			}
		}
		if subtotal.Sign() <= 0 {
			return
		}
		take := new(big.Rat).Mul(new(big.Rat).SetInt64(off), factor)
		if take.Cmp(subtotal) > 0 {
			take.Set(subtotal)
		}
		// Each eligible item keeps (subtotal − take) / subtotal of its amount.
		keep := new(big.Rat).Quo(new(big.Rat).Sub(subtotal, take), subtotal)
		for i := range vals {
			if eligible[i] {
				vals[i].Mul(vals[i], keep)
			}
		}
	}
}

// eligible marks the items a discount applies to: all of them, unless its
// coupon is limited to some products.
func eligible(items []pricedItem, d discount) []bool {
	out := make([]bool, len(items))
	var products []string
	if d.coupon.AppliesTo != nil {
		products = d.coupon.AppliesTo.Products
	}
	for i, it := range items {
		out[i] = len(products) == 0 || slices.Contains(products, it.product)
	}
	return out
}

// stripeExponent is the number of decimals of the minor unit Stripe's API
// counts amounts in, which is not always ISO 4217's (docs.stripe.com/currencies):
// a list of zero-decimal currencies, five three-decimal ones, two decimals
// for every other currency (ISK, IDR and COP included, which Kizuna counts
// without decimals).
func stripeExponent(code string) int {
	switch strings.ToUpper(code) {
	case "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "JOD", "KWD", "OMR", "TND":
		return 3
	}
	return 2
}

// kizunaMinor converts an amount in Stripe's minor units of currency into
// Kizuna's minor units, rounding half away from zero.
func kizunaMinor(amount *big.Rat, currency string) (int64, error) {
	exp, err := money.Exponent(currency)
	if err != nil {
		return 0, err
	}
	r := new(big.Rat).Set(amount)
	shift := exp - stripeExponent(currency)
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(shift))), nil))
	if shift >= 0 {
		r.Mul(r, scale)
	} else {
		r.Quo(r, scale)
	}
	neg := r.Sign() < 0
	r.Abs(r)
	r.Add(r, big.NewRat(1, 2))
	q := new(big.Int).Quo(r.Num(), r.Denom())
	if !q.IsInt64() {
		return 0, fmt.Errorf("amount %s %s is out of range", amount.FloatString(2), currency)
	}
	if neg {
		return -q.Int64(), nil
	}
	return q.Int64(), nil
}

// stripeToKizuna converts a whole amount in Stripe's minor units.
func stripeToKizuna(amount int64, currency string) (int64, error) {
	return kizunaMinor(new(big.Rat).SetInt64(amount), currency)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
