package charter

// PolicyPrefix is the system key prefix of every stored row policy: the
// catalog reads policies with its snapshot of the system keyspace.
func PolicyPrefix() []byte { return prefix(prefixPolicy) }

// UserPrefix is the system key prefix of every stored user (attributes).
func UserPrefix() []byte { return prefix(prefixUser) }
