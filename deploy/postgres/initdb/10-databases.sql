-- One database per service (docker-compose only; the image runs this once, on an empty volume).
CREATE DATABASE ingest OWNER corridor;
CREATE DATABASE tracker OWNER corridor;
CREATE DATABASE tariff OWNER corridor;
CREATE DATABASE webhooks OWNER corridor;
