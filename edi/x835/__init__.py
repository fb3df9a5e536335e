"""835 remittances: the streaming reader, balancing checks, and flat exports."""
