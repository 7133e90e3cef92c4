START TRANSACTION;
ALTER TABLE "SessionMessages" ADD "Provider" character varying(64);

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261207120850_MessageProviders', '10.0.15');

COMMIT;

