using Junis.Server.Data;
using Junis.Server.Data.PostgreSql;
using Junis.Server.Sessions.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Junis.Server.Sessions.PostgreSql;

/// <summary>
/// The turn store on PostgreSQL: the writer's statements sent in batches, prepared on each pooled connection. Writes wait
/// in the batch until a read needs an answer or the transaction commits, and go with it, so a batch of new sessions is
/// written, locked and committed in one round trip. The statements are the EF Core reference's (<see cref="EfCoreTurnStore"/>),
/// which tests hold it to row for row; change tracking and command building were most of a turn's CPU there
/// (bench/ANALYSIS.md, "Several instances").
/// </summary>
internal sealed class PostgresTurnStore(IConfiguration configuration) : ITurnStore
{
    private readonly string _connectionString = PostgresConnection.WithDefaults(DataServiceCollectionExtensions.ConnectionString(configuration));

    public async Task<ITurnTransaction> BeginAsync()
    {
        var connection = new NpgsqlConnection(_connectionString);
        try
        {
            await connection.OpenAsync();
            return new Transaction(connection);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public ValueTask ResetAsync() => default;

    private sealed class Transaction : ITurnTransaction
    {
        private readonly NpgsqlConnection _connection;
        private NpgsqlBatch _batch;
        private bool _committed;

        public Transaction(NpgsqlConnection connection)
        {
            _connection = connection;
            _batch = NewBatch("BEGIN");
        }

        public ValueTask LockAsync(IReadOnlyList<Guid> sessions)
        {
            var keys = new long[sessions.Count];
            for (var i = 0; i < keys.Length; i++)
                keys[i] = SessionLocks.KeyOf(sessions[i]);
            Queue("SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT unnest($1) AS k ORDER BY k) AS sessions",
                Value(keys, NpgsqlDbType.Array | NpgsqlDbType.Bigint));
            return default;
        }

        public async ValueTask<StoredSession?> FindAsync(Guid id, Guid organization)
        {
            Queue("""SELECT "Id", "MessageCount", "LastReplySequence" FROM "Sessions" WHERE "Id" = $1 AND "OrganizationId" = $2""",
                Value(id, NpgsqlDbType.Uuid), Value(organization, NpgsqlDbType.Uuid));
            return await ReadSessionAsync();
        }

        public async ValueTask<StoredSession?> FindAsync(Guid organization, string conversation)
        {
            Queue("""SELECT "Id", "MessageCount", "LastReplySequence" FROM "Sessions" WHERE "OrganizationId" = $1 AND "ConversationId" = $2""",
                Value(organization, NpgsqlDbType.Uuid), Value(conversation, NpgsqlDbType.Varchar));
            return await ReadSessionAsync();
        }

        public async ValueTask<(long Prompt, long Completion)> DeleteFromAsync(Guid session, int sequence)
        {
            Queue("""
                SELECT COALESCE(SUM("PromptTokens"), 0)::bigint, COALESCE(SUM("CompletionTokens"), 0)::bigint
                FROM "SessionMessages" WHERE "SessionId" = $1 AND "Sequence" >= $2
                """, Value(session, NpgsqlDbType.Uuid), Value(sequence, NpgsqlDbType.Integer));
            Queue("""DELETE FROM "SessionMessages" WHERE "SessionId" = $1 AND "Sequence" >= $2""",
                Value(session, NpgsqlDbType.Uuid), Value(sequence, NpgsqlDbType.Integer));
            (long, long) tokens = default;
            await SendAsync(async reader =>
            {
                if (reader.FieldCount == 2 && await reader.ReadAsync())
                    tokens = (reader.GetInt64(0), reader.GetInt64(1));
            });
            return tokens;
        }

        public ValueTask InsertSessionAsync(Guid id, SessionState state)
        {
            var turn = state.Turn;
            Queue("""
                INSERT INTO "Sessions" ("Id", "OrganizationId", "ApiKeyId", "ConversationId", "UserId", "TranscriptHash", "TurnStartHash",
                                        "TurnInputHash", "CreatedAt", "LastUpdateAt", "EndedAt", "MessageCount",
                                        "LastTurnStart", "LastReplySequence", "PromptTokens", "CompletionTokens")
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, $14, $15)
                """,
                Value(id, NpgsqlDbType.Uuid), Value(turn.OrganizationId, NpgsqlDbType.Uuid), Value(turn.ApiKeyId, NpgsqlDbType.Uuid),
                Value(turn.ConversationId, NpgsqlDbType.Varchar), Value(turn.UserId, NpgsqlDbType.Varchar),
                Value(state.TranscriptHash, NpgsqlDbType.Bytea), Value(turn.StartHash, NpgsqlDbType.Bytea), Value(turn.InputHash, NpgsqlDbType.Bytea),
                Value(state.Now, NpgsqlDbType.TimestampTz), Value(state.EndedAt, NpgsqlDbType.TimestampTz),
                Value(state.MessageCount, NpgsqlDbType.Integer), Value(Math.Max(state.TurnStart, 1), NpgsqlDbType.Integer),
                Value(state.ReplySequence, NpgsqlDbType.Integer), Value(state.PromptTokens, NpgsqlDbType.Bigint), Value(state.CompletionTokens, NpgsqlDbType.Bigint));
            return default;
        }

        public ValueTask UpdateSessionAsync(Guid id, SessionState state)
        {
            var turn = state.Turn;
            Queue("""
                UPDATE "Sessions" SET "UserId" = COALESCE($2, "UserId"), "TranscriptHash" = $3, "TurnStartHash" = $4, "TurnInputHash" = $5,
                    "LastUpdateAt" = $6, "EndedAt" = $7, "MessageCount" = $8,
                    "LastTurnStart" = CASE WHEN $9 > 0 THEN $9 ELSE "LastTurnStart" END, "LastReplySequence" = $10,
                    "PromptTokens" = "PromptTokens" + $11, "CompletionTokens" = "CompletionTokens" + $12
                WHERE "Id" = $1
                """,
                Value(id, NpgsqlDbType.Uuid), Value(turn.UserId, NpgsqlDbType.Varchar), Value(state.TranscriptHash, NpgsqlDbType.Bytea),
                Value(turn.StartHash, NpgsqlDbType.Bytea), Value(turn.InputHash, NpgsqlDbType.Bytea),
                Value(state.Now, NpgsqlDbType.TimestampTz), Value(state.EndedAt, NpgsqlDbType.TimestampTz), Value(state.MessageCount, NpgsqlDbType.Integer),
                Value(state.TurnStart, NpgsqlDbType.Integer), Value(state.ReplySequence, NpgsqlDbType.Integer),
                Value(state.PromptTokens, NpgsqlDbType.Bigint), Value(state.CompletionTokens, NpgsqlDbType.Bigint));
            return default;
        }

        public ValueTask InsertMessageAsync(Guid session, int sequence, StoredMessage message, TurnOutcome? outcome, DateTime now)
        {
            Queue("""
                INSERT INTO "SessionMessages" ("SessionId", "Sequence", "Role", "Content", "ToolCalls", "ToolCallId", "Refusal", "Name", "Parts",
                                               "Agent", "AgentSteps", "Provider", "FinishReason", "PromptTokens", "CompletionTokens", "Interrupted", "CreatedAt")
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
                """,
                Value(session, NpgsqlDbType.Uuid), Value(sequence, NpgsqlDbType.Integer), Value(message.Role, NpgsqlDbType.Varchar),
                Value(message.Content, NpgsqlDbType.Text), Value(StoredToolCalls.Serialize(message.ToolCalls), NpgsqlDbType.Text),
                Value(message.ToolCallId, NpgsqlDbType.Varchar), Value(message.Refusal, NpgsqlDbType.Text), Value(message.Name, NpgsqlDbType.Text),
                Value(StoredParts.Serialize(message.Parts), NpgsqlDbType.Text),
                Value(message.Agent, NpgsqlDbType.Varchar), Value(StoredAgentSteps.Serialize(message.AgentSteps), NpgsqlDbType.Text),
                Value(message.Provider, NpgsqlDbType.Varchar),
                Value(outcome?.FinishReason, NpgsqlDbType.Varchar),
                Value(outcome?.Usage?.Prompt, NpgsqlDbType.Integer), Value(outcome?.Usage?.Completion, NpgsqlDbType.Integer),
                Value(outcome?.Interrupted ?? false, NpgsqlDbType.Boolean), Value(now, NpgsqlDbType.TimestampTz));
            return default;
        }

        public ValueTask SetHeardAsync(Guid session, int sequence, string heard)
        {
            Queue("""UPDATE "SessionMessages" SET "HeardContent" = $3 WHERE "SessionId" = $1 AND "Sequence" = $2 AND "Role" = 'assistant'""",
                Value(session, NpgsqlDbType.Uuid), Value(sequence, NpgsqlDbType.Integer), Value(heard, NpgsqlDbType.Text));
            return default;
        }

        public async Task CommitAsync()
        {
            Queue("COMMIT");
            await SendAsync(static _ => Task.CompletedTask);
            _committed = true;
        }

        public async ValueTask DisposeAsync()
        {
            await _batch.DisposeAsync();
            if (!_committed && _connection.State == System.Data.ConnectionState.Open)
            {
                // Whatever was sent of a failed or abandoned transaction is undone before the connection goes back to the pool.
                await using var rollback = new NpgsqlCommand("ROLLBACK", _connection);
                try
                {
                    await rollback.ExecuteNonQueryAsync();
                }
                catch (NpgsqlException)
                {
                    // The connection is broken; the pool will not lend it again.
                }
            }
            await _connection.DisposeAsync();
        }

        private async ValueTask<StoredSession?> ReadSessionAsync()
        {
            StoredSession? found = null;
            await SendAsync(async reader =>
            {
                if (reader.FieldCount == 3 && await reader.ReadAsync())
                    found = new StoredSession(reader.GetGuid(0), reader.GetInt32(1), reader.GetInt32(2));
            });
            return found;
        }

        /// <summary>Sends what is queued in one round trip, handing each statement's result to <paramref name="read"/>.</summary>
        private async Task SendAsync(Func<NpgsqlDataReader, Task> read)
        {
            var batch = _batch;
            _batch = NewBatch();
            await using (batch)
            await using (var reader = await batch.ExecuteReaderAsync())
            {
                do
                {
                    await read(reader);
                }
                while (await reader.NextResultAsync());
            }
        }

        private void Queue(string sql, params NpgsqlParameter[] parameters)
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.AddRange(parameters);
            _batch.BatchCommands.Add(command);
        }

        private NpgsqlBatch NewBatch(string? first = null)
        {
            var batch = new NpgsqlBatch(_connection);
            if (first is not null)
                batch.BatchCommands.Add(new NpgsqlBatchCommand(first));
            return batch;
        }

        private static NpgsqlParameter Value(object? value, NpgsqlDbType type) => new() { Value = value ?? DBNull.Value, NpgsqlDbType = type };
    }
}
