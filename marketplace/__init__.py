"""The KOPIT service exchange: members offer services to one another, book them and settle monthly."""
