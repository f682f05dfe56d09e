"""All database writes live here, one module per area. Functions take `(*, session, ...)`."""
