BEGIN TRANSACTION;
ALTER TABLE "SessionMessages" ADD "Provider" TEXT NULL;

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261207120828_MessageProviders', '10.0.15');

COMMIT;

