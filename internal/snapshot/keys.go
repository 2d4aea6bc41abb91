package snapshot

// KeyFeatures are the key feature events the reader's snapshots count in
// adoption_breadth: the key_features setting, or by default every event
// seen in the rollups but the login and setup events.
func (r *Reader) KeyFeatures() []string { return append([]string(nil), r.keys...) }
