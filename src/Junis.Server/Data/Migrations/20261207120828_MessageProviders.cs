using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Junis.Server.Data.Migrations
{
    /// <inheritdoc />
    public partial class MessageProviders : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Provider",
                table: "SessionMessages",
                type: "TEXT",
                maxLength: 64,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "Provider",
                table: "SessionMessages");
        }
    }
}
