package demo

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// Word lists for company names: a brand and a noun ("Blue Harbor Logistics"),
// with a city added once the pairs run short.
var (
	brands = []string{
		"Acorn", "Alder", "Amber", "Apex", "Arbor", "Argent", "Aster", "Atlas", "Aurora", "Azure",
		"Bamboo", "Beacon", "Birch", "Blue Harbor", "Bluebird", "Boulder", "Bright", "Brook", "Cedar", "Cinder",
		"Cobalt", "Comet", "Copper", "Coral", "Crane", "Crescent", "Crystal", "Cypress", "Delta", "Drift",
		"Eagle", "Ember", "Evergreen", "Falcon", "Fern", "Firefly", "Fjord", "Foxglove", "Fuji", "Garnet",
		"Glacier", "Golden", "Granite", "Harbor", "Hayate", "Heron", "Hikari", "Horizon", "Indigo", "Iris",
		"Ivory", "Jade", "Juniper", "Kaede", "Kestrel", "Kite", "Lantern", "Lark", "Laurel", "Lotus",
		"Lumen", "Maple", "Marble", "Meadow", "Meridian", "Midori", "Mistral", "Moss", "Nagi", "Nimbus",
		"North Star", "Northwind", "Oak", "Obsidian", "Onyx", "Orbit", "Orchid", "Pacific", "Pebble", "Pine",
		"Polar", "Prairie", "Quartz", "Raven", "Redwood", "Ridge", "River", "Sakura", "Sapphire", "Sequoia",
		"Shiro", "Silver", "Sora", "Spruce", "Summit", "Tide", "Timber", "Umi", "Vertex", "Willow",
	}
	nouns = []string{
		"Analytics", "Apparel", "Architects", "Bakery", "Bank", "Biotech", "Brewing", "Capital", "Cloud", "Clinics",
		"Consulting", "Dental", "Design", "Devices", "Digital", "Dynamics", "Education", "Electric", "Energy", "Engineering",
		"Farms", "Finance", "Fitness", "Foods", "Freight", "Games", "Health", "Hotels", "Insurance", "Interactive",
		"Labs", "Learning", "Legal", "Logistics", "Machines", "Manufacturing", "Marine", "Media", "Medical", "Mobility",
		"Motors", "Networks", "Outfitters", "Packaging", "Partners", "Payments", "Pharma", "Publishing", "Realty", "Recruiting",
		"Retail", "Robotics", "Security", "Semiconductors", "Software", "Solar", "Studios", "Supply", "Systems", "Telecom",
		"Textiles", "Trading", "Travel", "Ventures", "Water", "Wellness", "Works", "Yachts", "Logic", "Markets",
	}
	cities = map[string][]string{
		"Japan":         {"Tokyo", "Osaka", "Nagoya", "Fukuoka", "Sapporo", "Sendai", "Kobe", "Kyoto", "Yokohama", "Hiroshima"},
		"North America": {"Boston", "Austin", "Denver", "Seattle", "Toronto", "Chicago", "Atlanta", "Portland", "Vancouver", "Phoenix"},
		"EMEA":          {"Berlin", "London", "Paris", "Amsterdam", "Dublin", "Madrid", "Milan", "Stockholm", "Zurich", "Warsaw"},
		"APAC":          {"Singapore", "Sydney", "Seoul", "Melbourne", "Auckland", "Bangkok", "Manila", "Jakarta", "Taipei", "Hong Kong"},
	}
	legalForms = map[string][]string{
		"Japan":         {"KK", "Co., Ltd."},
		"North America": {"Inc.", "LLC", "Corp."},
		"EMEA":          {"GmbH", "Ltd", "SAS", "B.V.", "AB"},
		"APAC":          {"Pte. Ltd.", "Pty Ltd", "Ltd."},
	}
	regions = []struct {
		name  string
		share float64
		yen   float64 // share billed in JPY
	}{
		{"North America", 0.35, 0}, {"EMEA", 0.28, 0}, {"Japan", 0.22, 0.7}, {"APAC", 0.15, 0},
	}
	industries = []string{
		"Software", "Manufacturing", "Retail", "Healthcare", "Financial services", "Logistics",
		"Education", "Media", "Real estate", "Hospitality", "Professional services", "Telecommunications",
	}

	firstNames = []string{
		"Akira", "Ayumi", "Daiki", "Emi", "Haruto", "Hina", "Kaito", "Mai", "Naoki", "Rin",
		"Ryo", "Sakura", "Shota", "Takumi", "Yui", "Alex", "Anna", "Ben", "Carla", "David",
		"Elena", "Felix", "Grace", "Hugo", "Isabel", "Jonas", "Julia", "Leo", "Lucas", "Mia",
		"Nina", "Omar", "Paula", "Rafael", "Sara", "Sofia", "Tom", "Vera", "Wei", "Zoe",
	}
	lastNames = []string{
		"Abe", "Fujita", "Hayashi", "Ikeda", "Inoue", "Kato", "Kimura", "Matsumoto", "Nakamura", "Ogawa",
		"Saito", "Shimizu", "Suzuki", "Takahashi", "Yamada", "Yamamoto", "Anderson", "Bauer", "Brown", "Costa",
		"Dubois", "Fischer", "Garcia", "Hansen", "Jensen", "Kim", "Kowalski", "Lee", "Martin", "Moreau",
		"Novak", "Olsen", "Patel", "Rossi", "Santos", "Silva", "Smith", "Tan", "Wong", "Young",
	}
	contactRoles = []string{"Executive sponsor", "Billing", "User", "IT", "Team lead", "Operations", "User"}
)

// namer hands out company names that are unique within one world.
type namer struct{ used map[string]bool }

func newNamer() *namer { return &namer{used: map[string]bool{}} }

// company returns a new company base name (without legal form) for region.
func (nm *namer) company(r *rand.Rand, region string) string {
	for try := 0; ; try++ {
		base := pick(r, brands) + " " + pick(r, nouns)
		if try >= 8 {
			base += " " + pick(r, cities[region])
		}
		if try >= 40 {
			base += " " + strconv.Itoa(try)
		}
		if nm.claim(base) {
			return base
		}
	}
}

// claim reserves name and reports whether it was free.
func (nm *namer) claim(name string) bool {
	if nm.used[name] {
		return false
	}
	nm.used[name] = true
	return true
}

// legalName adds a legal form typical for the region.
func legalName(r *rand.Rand, base, region string) string {
	return base + " " + pick(r, legalForms[region])
}

// domainOf turns a company name into the example domain of its contacts.
func domainOf(base string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(base) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == ' ' || c == '-':
			b.WriteByte('-')
		}
	}
	return b.String() + ".example"
}

// personName draws a contact's name.
func personName(r *rand.Rand) (first, last string) {
	return pick(r, firstNames), pick(r, lastNames)
}
