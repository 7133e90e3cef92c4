BEGIN TRANSACTION;
ALTER TABLE "SessionMessages" ADD "HeardContent" TEXT NULL;

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261207064146_HeardContent', '10.0.15');

COMMIT;

