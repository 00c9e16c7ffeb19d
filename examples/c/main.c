/* A client of a therapist, in C99 against the installed libsotto
 * (pkg-config sotto). The same two commands as examples/cpp:
 *
 *   sotto-example-c register SERVER PROFILE_DIR HANDLE INVITE THERAPIST TEXT
 *       creates the profile with the therapist's invite and sends TEXT
 *   sotto-example-c read PROFILE_DIR THERAPIST
 *       opens the profile, fetches new messages, prints the conversation
 *
 * The passphrase comes from $SOTTO_EXAMPLE_PASSPHRASE. Fast key derivation
 * keeps the test that runs this quick; a real app leaves it off. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sotto/sotto.h"

/* Prints what failed and frees the library's message. */
static int fail(const char* what, int status, char* errmsg) {
  fprintf(stderr, "%s: %s: %s\n", what, sotto_status_name(status), errmsg ? errmsg : "");
  sotto_free_string(errmsg);
  return 1;
}

static const char* passphrase(void) {
  const char* p = getenv("SOTTO_EXAMPLE_PASSPHRASE");
  return p ? p : "";
}

static int do_register(char** argv) {
  sotto_register_options* options = sotto_register_options_create();
  sotto_register_options_set_server_address(options, argv[0]);
  sotto_register_options_set_profile_dir(options, argv[1]);
  sotto_register_options_set_handle(options, argv[2]);
  sotto_register_options_set_invite_code(options, argv[3]);
  sotto_register_options_set_role(options, SOTTO_ROLE_CLIENT);
  sotto_register_options_set_passphrase(options, passphrase(), strlen(passphrase()));
  sotto_register_options_set_fast_key_derivation_for_tests(options, 1);
  sotto_client* client = NULL;
  char* errmsg = NULL;
  int status = sotto_client_register(options, &client, &errmsg);
  sotto_register_options_destroy(options);
  if (status != SOTTO_OK) return fail("register", status, errmsg);
  printf("registered %s\n", argv[2]);

  status = sotto_send_text(client, argv[4], argv[5], strlen(argv[5]), 0, NULL, &errmsg);
  if (status != SOTTO_OK) {
    sotto_client_close(client);
    return fail("send", status, errmsg);
  }
  printf("sent to %s: %s\n", argv[4], argv[5]);
  sotto_client_close(client);
  return 0;
}

static int do_read(char** argv) {
  sotto_open_options* options = sotto_open_options_create();
  sotto_open_options_set_profile_dir(options, argv[0]);
  sotto_open_options_set_passphrase(options, passphrase(), strlen(passphrase()));
  sotto_client* client = NULL;
  char* errmsg = NULL;
  int status = sotto_client_open(options, &client, &errmsg);
  sotto_open_options_destroy(options);
  if (status != SOTTO_OK) return fail("open", status, errmsg);

  sotto_sync_stats* stats = NULL;
  status = sotto_sync(client, &stats, &errmsg);
  sotto_sync_stats_free(stats);
  if (status != SOTTO_OK) {
    sotto_client_close(client);
    return fail("sync", status, errmsg);
  }
  sotto_message_list* messages = NULL;
  status = sotto_read_conversation(client, argv[1], &messages, &errmsg);
  if (status != SOTTO_OK) {
    sotto_client_close(client);
    return fail("read", status, errmsg);
  }
  for (size_t i = 0; i < sotto_message_list_count(messages); ++i) {
    const sotto_message* m = sotto_message_list_get(messages, i);
    size_t len = 0;
    const char* text = sotto_message_text(m, &len);
    printf("%s %s: %.*s\n", sotto_message_outgoing(m) ? "to" : "from", sotto_message_peer(m),
           (int)len, text);
  }
  sotto_message_list_free(messages);
  sotto_client_close(client);
  return 0;
}

int main(int argc, char** argv) {
  const char* command = argc > 1 ? argv[1] : "";
  if (strcmp(command, "register") == 0 && argc == 8) return do_register(argv + 2);
  if (strcmp(command, "read") == 0 && argc == 4) return do_read(argv + 2);
  fprintf(stderr,
          "usage: %s register SERVER PROFILE_DIR HANDLE INVITE THERAPIST TEXT\n"
          "       %s read PROFILE_DIR THERAPIST\n",
          argv[0], argv[0]);
  return 2;
}
