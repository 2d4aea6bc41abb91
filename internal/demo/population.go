package demo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// staffMember is a Kizuna user of the demo business.
type staffMember struct {
	name, email, role string
	seg               segment // the tier whose accounts a CSM owns
}

// staff are the demo business's users: CSMs by touch model (two high touch,
// three low touch, three tech touch), their manager, and the demo login.
var staff = []staffMember{
	{"Aiko Tanaka", "aiko.tanaka@example.com", user.RoleCSM, enterprise},
	{"Daniel Okafor", "daniel.okafor@example.com", user.RoleCSM, enterprise},
	{"Yuki Sato", "yuki.sato@example.com", user.RoleCSM, midMarket},
	{"Maria Garcia", "maria.garcia@example.com", user.RoleCSM, midMarket},
	{"Kenji Watanabe", "kenji.watanabe@example.com", user.RoleCSM, midMarket},
	{"Emma Schulz", "emma.schulz@example.com", user.RoleCSM, smb},
	{"Sota Kobayashi", "sota.kobayashi@example.com", user.RoleCSM, smb},
	{"Priya Nair", "priya.nair@example.com", user.RoleCSM, smb},
	{"Haruka Mori", "haruka.mori@example.com", user.RoleManager, 0},
	{"Demo Admin", LoginEmail, user.RoleAdmin, 0},
}

// salesReps author the handoff records; they are not Kizuna users.
var salesReps = []string{"ken.ito@example.com", "sarah.miller@example.com", "tom.becker@example.com", "mei.lin@example.com"}

// createUsers creates the staff users, all with the demo password. A user
// that exists already is left as it is. It runs beside the rest of the
// generation, so it does not report progress.
func (w *world) createUsers(ctx context.Context, db *store.DB) error {
	for _, s := range staff {
		if _, err := user.Create(ctx, db, s.email, s.name, s.role, LoginPassword); err != nil && !errors.Is(err, user.ErrExists) {
			return fmt.Errorf("generate demo: %w", err)
		}
	}
	return nil
}

// makeAccounts draws the customers and prospects: tier, signup day, name,
// owner and firmographics. Customers sign up over the History months, more
// of them recently (the business grows); prospects started a trial in the
// last 30 days.
func (w *world) makeAccounts() {
	r := w.rng(streamWorld, 0)
	customers := make([]*acct, w.scaled(5000, 1))
	span := float64(w.now - w.start)
	const growth = 1.5 // the signup rate at the end is 1+growth times the rate at the start
	for i := range customers {
		a := &acct{seg: pickSegment(r)}
		// Inverse of the CDF of a density rising linearly over the span.
		u := r.Float64()
		x := (-1 + math.Sqrt(1+2*growth*u*(1+growth/2))) / growth
		a.signup = min(w.start+int64(x*span), w.now-1)
		customers[i] = a
	}
	sortAccounts(customers)
	prospects := make([]*acct, w.scaled(300, 1))
	for i := range prospects {
		prospects[i] = &acct{seg: pickSegment(r), prospect: true, signup: w.now - 1 - r.Int64N(30)}
	}
	sortAccounts(prospects)

	owners := map[segment][]string{}
	for _, s := range staff {
		if s.role == user.RoleCSM {
			owners[s.seg] = append(owners[s.seg], s.email)
		}
	}
	nm := newNamer()
	w.accounts = append(customers, prospects...)
	for i, a := range w.accounts {
		a.idx, a.num = i, i+1
		a.id = fmt.Sprintf("acc_%05d", a.num)
		x := r.Float64()
		for _, rg := range regions {
			if x < rg.share || rg.name == regions[len(regions)-1].name {
				a.region = rg.name
				a.currency = "USD"
				if r.Float64() < rg.yen {
					a.currency = "JPY"
				}
				break
			}
			x -= rg.share
		}
		a.industry = pick(r, industries)
		switch a.seg {
		case smb:
			a.employees = 5 + int(math.Exp(r.Float64()*math.Log(40)))*5
		case midMarket:
			a.employees = 200 + int(math.Exp(r.Float64()*math.Log(18)))*100
		case enterprise:
			a.employees = 2000 + int(math.Exp(r.Float64()*math.Log(25)))*1000
		}
		a.partner = r.Float64() < 0.04
		a.base = nm.company(r, a.region)
		a.name = legalName(r, a.base, a.region)
		a.domain = domainOf(a.base)
		a.plan = segments[a.seg].plan
		a.discount = 1
		if a.seg == enterprise {
			a.discount = 0.75 + 0.2*r.Float64()
		}
		a.adoptDay, a.setupDay = noDay, noDay
		if !a.prospect {
			a.owner = pick(r, owners[a.seg])
		}
	}
	w.makeSubsidiaries(r, customers, nm)
}

func pickSegment(r *rand.Rand) segment {
	x := r.Float64()
	for s := len(segments) - 1; s > 0; s-- {
		if x < segments[s].share {
			return segment(s)
		}
		x -= segments[s].share
	}
	return smb
}

// makeSubsidiaries makes some enterprise customers parents of one to three
// mid-market customers that signed up later, renamed after the parent.
func (w *world) makeSubsidiaries(r *rand.Rand, customers []*acct, nm *namer) {
	var parents, children []*acct
	for _, a := range customers {
		switch a.seg {
		case enterprise:
			parents = append(parents, a)
		case midMarket:
			children = append(children, a)
		}
	}
	if len(children) == 0 {
		return
	}
	taken := map[*acct]bool{}
	for _, i := range r.Perm(len(parents))[:len(parents)/7] {
		p := parents[i]
		for range 1 + r.IntN(3) {
			for try := 0; try < 20; try++ {
				c := children[r.IntN(len(children))]
				if taken[c] || c.signup <= p.signup {
					continue
				}
				base := p.base + " " + pick(r, cities[c.region])
				if !nm.claim(base) {
					continue
				}
				taken[c] = true
				c.parent, c.base = p, base
				c.name = legalName(r, base, c.region)
				c.domain = p.domain
				c.industry = p.industry
				break
			}
		}
	}
}
