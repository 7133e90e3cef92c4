START TRANSACTION;
ALTER TABLE "SessionMessages" ADD "HeardContent" text;

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261207064226_HeardContent', '10.0.15');

COMMIT;

