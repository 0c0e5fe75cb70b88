#!/usr/bin/env bash
# Quick start: builds `vouchers` (release), then, in a fresh folder (target/demo), creates a
# conference with its catalogue and generates real batches on the embedded SQLite default
# (./vouchers.db, created on first use). Every command is printed before it runs, quoted so that
# it can be pasted as is (after the `cd` and `export PATH` printed at the start), so this doubles
# as a tour of the CLI.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
command -v cargo >/dev/null 2>&1 \
  || { echo "FAIL: cargo not found; install Rust 1.89 or newer (https://rustup.rs)" >&2; exit 1; }
echo "Building vouchers (release; the first build takes a few minutes)"
cargo build --quiet --release --locked --manifest-path "$root/Cargo.toml" -p vouchers-cli
bin="$root/target/release/vouchers"
demo="$root/target/demo"
rm -rf "$demo" && mkdir -p "$demo" && cd "$demo"

# Shell words, quoted only where needed: `--name 'PyCon US 2027'`, `' STUDENT-AB12CD34 '`.
quote() {
  local word words=()
  for word in "$@"; do
    if [[ "$word" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
      words+=("$word")
    else
      words+=("'${word//\'/\'\\\'\'}'")
    fi
  done
  printf '%s' "${words[*]}"
}

run() {
  printf '\n$ vouchers %s\n' "$(quote "$@")"
  "$bin" "$@"
}

printf 'vouchers: %s\n' "$bin"
printf 'To paste the commands below yourself:\n  cd %s && export PATH=%s:"$PATH"\n' \
  "$(quote "$demo")" "$(quote "$(dirname "$bin")")"

run conference create --slug pycon-2027 --name "PyCon US 2027" \
  --start-date 2027-05-14 --end-date 2027-05-22 --timezone America/New_York
run ticket-type create --conference pycon-2027 --slug individual --name Individual --price 400.00
run ticket-type create --conference pycon-2027 --slug corporate --name Corporate --price 750.00
run ticket-type create --conference pycon-2027 --slug student --name Student --price 100.00 --requires-voucher
run addon create --conference pycon-2027 --slug tutorial --name "Tutorial day" --price 150.00
run addon create --conference pycon-2027 --slug tshirt --name T-shirt --price 25.00

# Sponsors get 20 codes at 25% off individual and corporate tickets and the tutorial day.
run generate --conference pycon-2027 --prefix SPONSOR- --count 20 --type percentage --discount 25 \
  --ticket-type individual --ticket-type corporate --addon tutorial --valid-until 2027-05-22T18:00
# Speakers get comp tickets.
run generate --conference pycon-2027 --prefix SPEAKER- --count 5 --type comp --ticket-type individual
# Students get 50% off and unlock the hidden student ticket type.
run generate --conference pycon-2027 --prefix STUDENT- --count 3 --type percentage --discount 50 \
  --unlocks-hidden-tickets --ticket-type student
# A hand-picked code, then the same code in another case: refused, codes ignore case.
run add --conference pycon-2027 --code PYCON-KEYNOTE --type comp --max-uses 3
run add --conference pycon-2027 --code pycon-keynote --type comp || echo "(refused as expected, exit status $?)"
run show --conference pycon-2027 pycon-keynote --format json


# At checkout: check a student code with a cart, redeem it for an order, retry, release.
code="$("$bin" list --conference pycon-2027 --prefix STUDENT- --format csv | sed -n 2p | cut -d, -f3)"
run check --conference pycon-2027 " ${code,,} " --ticket-type student --addon tshirt=2
run redeem --conference pycon-2027 --order-ref ORDER-1001 "$code" --ticket-type student
run redeem --conference pycon-2027 --order-ref ORDER-1001 "$code"
run redeem --conference pycon-2027 --order-ref ORDER-1002 "$code" || echo "(refused as expected, exit status $?)"
run release --conference pycon-2027 --order-ref ORDER-1001 "$code"
run usage --conference pycon-2027

printf '\nThe database is %s/vouchers.db\n' "$demo"
