/* The tern subcommands. Each takes the arguments after its name (argv[0] is
 * the subcommand name), prints results on stdout and one error line on
 * stderr, and returns the process exit status. */
#ifndef TERN_CMD_COMMANDS_H
#define TERN_CMD_COMMANDS_H

int topics_main(int argc, char **argv);
int console_produce_main(int argc, char **argv);
int console_consume_main(int argc, char **argv);
int metadata_quorum_main(int argc, char **argv);
int groups_main(int argc, char **argv);

#endif
