#!/bin/sh
# Run once by the postgres image, as its superuser, when the data volume is first created:
# the owner role (migrations, knowledge-base loads) owns the database; the service's role owns
# nothing and gets its rights from `flask db upgrade` (README: "Database roles").
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v db="$POSTGRES_DB" \
    -v owner_password="$ALERTS_OWNER_PASSWORD" \
    -v app_password="$ALERTS_APP_PASSWORD" <<'SQL'
CREATE ROLE alerts_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE alerts_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
ALTER DATABASE :"db" OWNER TO alerts_owner;
ALTER SCHEMA public OWNER TO alerts_owner;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO alerts_app;
SQL
