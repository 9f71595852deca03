#!/usr/bin/perl
# Hardening Lab: QEMU starts this for every TCP connection a filtered guest opens to the package
# proxy (guestfwd=...-cmd:), with that connection on stdin, stdout and stderr. It does nothing but
# join the connection to the machine's one long-lived proxy on a Unix socket, which counts, bounds
# and checks every connection. Perl because it is on every Linux host (Debian's perl-base is
# Essential) and starts in ~7 MB where Node takes ~44 MB: a guest can make QEMU start many of these.
# Nothing may be written to stderr: it is the guest's connection too.
# Usage: egress-connect.pl SOCKET_PATH, or egress-connect.pl tcp:PORT on a lab server, where the
# proxy is reached through a port on the server's own loopback that the app forwards to it.
use strict;
use warnings;
use Socket qw(PF_UNIX PF_INET SOCK_STREAM SHUT_WR pack_sockaddr_un pack_sockaddr_in inet_aton);

open(STDERR, '>', '/dev/null');
$SIG{PIPE} = 'IGNORE';
my $path = shift @ARGV;
exit 2 unless defined $path;
my $proxy;
if ($path =~ /^tcp:(\d{1,5})$/) {
  # Copied first: $1 is passed by alias, and inet_aton's own matching would change it.
  my $port = $1;
  socket($proxy, PF_INET, SOCK_STREAM, 0) or exit 1;
  connect($proxy, pack_sockaddr_in($port, inet_aton('127.0.0.1'))) or exit 1;
}
else {
  socket($proxy, PF_UNIX, SOCK_STREAM, 0) or exit 1;
  connect($proxy, pack_sockaddr_un($path)) or exit 1;
}

sub write_all {
  my ($fh, $data) = @_;
  my $off = 0;
  while ($off < length $data) {
    my $n = syswrite($fh, $data, length($data) - $off, $off);
    return 0 unless defined $n;
    $off += $n;
  }
  return 1;
}

my $guest_open = 1;
my $buf;
for (;;) {
  my $rin = '';
  vec($rin, fileno(STDIN), 1) = 1 if $guest_open;
  vec($rin, fileno($proxy), 1) = 1;
  my $ready = select(my $rout = $rin, undef, undef, undef);
  if ($ready < 0) {
    next if $!{EINTR};
    last;
  }
  if ($guest_open && vec($rout, fileno(STDIN), 1)) {
    my $n = sysread(STDIN, $buf, 65536);
    if (!$n) {
      # The guest finished sending: tell the proxy, and keep relaying its answer.
      $guest_open = 0;
      shutdown($proxy, SHUT_WR);
    }
    elsif (!write_all($proxy, $buf)) {
      # The proxy stopped reading (it refused or answered early): still relay what it says.
      $guest_open = 0;
    }
  }
  if (vec($rout, fileno($proxy), 1)) {
    my $n = sysread($proxy, $buf, 65536);
    last if !$n;
    last if !write_all(\*STDOUT, $buf);
  }
}
exit 0;
