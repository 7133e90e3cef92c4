using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Junis.Server.Data.PostgreSql.Migrations
{
    /// <inheritdoc />
    public partial class HeardContent : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "HeardContent",
                table: "SessionMessages",
                type: "text",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "HeardContent",
                table: "SessionMessages");
        }
    }
}
