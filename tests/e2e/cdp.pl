#!/usr/bin/perl
# cdp.pl - evaluate a JavaScript expression in a page of a running headless
# Chromium through the DevTools protocol, and print its value (a string).
# For tests that must look at a page while it changes (t6000: a log that
# follows a run live), which --dump-dom cannot: it dumps at the load event.
#
#   perl tests/e2e/cdp.pl PORT URL_PREFIX EXPRESSION
#
# PORT is Chromium's --remote-debugging-port (from the DevToolsActivePort
# file of its --user-data-dir); the page is the first whose URL starts with
# URL_PREFIX.  Booleans print as true and false, null as an empty line.
# Exit non-zero with a message when there is no such page or the
# expression throws.  Core perl only: a WebSocket client of its own.
use strict;
use warnings;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64;

@ARGV == 3 or die "usage: cdp.pl PORT URL_PREFIX EXPRESSION\n";
my ($port, $prefix, $expr) = @ARGV;

sub http_get {
	my ($path) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
	    Timeout => 5) or die "cdp.pl: cannot connect to port $port: $!\n";
	print $s "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n\r\n";
	# Chromium keeps the connection open: read just Content-Length
	my ($head, $body, $len) = ('', '', 0);
	while ($head !~ /\r\n\r\n$/) {
		sysread($s, my $c, 1) == 1 or die "cdp.pl: no answer\n";
		$head .= $c;
	}
	($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
	while (length($body) < ($len // 0)) {
		sysread($s, $body, $len - length($body), length($body))
			or last;
	}
	close $s;
	return $body;
}

my ($page) = grep { ($_->{type} // '') eq 'page' &&
	index($_->{url} // '', $prefix) == 0 }
	@{ decode_json(http_get('/json/list')) };
$page or die "cdp.pl: no page at '$prefix'\n";
my ($path) = $page->{webSocketDebuggerUrl} =~ m{^ws://[^/]+(/.*)$}
	or die "cdp.pl: no WebSocket URL\n";

# the WebSocket handshake (no Origin header: Chromium accepts it)
my $ws = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
	or die "cdp.pl: cannot connect: $!\n";
binmode $ws;
my $key = encode_base64(join('', map { chr(int(rand(256))) } 1 .. 16), '');
print $ws "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
	. "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	. "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n\r\n";
my $head = '';
while ($head !~ /\r\n\r\n/) {
	sysread($ws, my $c, 1) == 1 or die "cdp.pl: handshake cut short\n";
	$head .= $c;
}
$head =~ m{^HTTP/1.1 101} or die "cdp.pl: handshake refused: $head\n";

sub ws_send {
	my ($text) = @_;
	my $len = length $text;
	my $frame = chr(0x81);
	if ($len < 126) {
		$frame .= chr(0x80 | $len);
	} elsif ($len < 65536) {
		$frame .= chr(0x80 | 126) . pack('n', $len);
	} else {
		$frame .= chr(0x80 | 127) . pack('Q>', $len);
	}
	my $mask = join('', map { chr(int(rand(256))) } 1 .. 4);
	my $masked = $text ^ (substr($mask x (int($len / 4) + 1), 0, $len));
	print $ws $frame . $mask . $masked;
}

sub read_n {
	my ($n) = @_;
	my $buf = '';
	while (length($buf) < $n) {
		my $got = sysread($ws, $buf, $n - length($buf), length($buf));
		die "cdp.pl: connection closed\n" unless $got;
	}
	return $buf;
}

# One message (text frames, continuations joined; pings answered).
sub ws_recv {
	my $msg = '';
	for (;;) {
		my ($b0, $b1) = unpack('CC', read_n(2));
		my $len = $b1 & 0x7f;
		$len = unpack('n', read_n(2)) if $len == 126;
		$len = unpack('Q>', read_n(8)) if $len == 127;
		my $data = $len ? read_n($len) : '';
		my $op = $b0 & 0x0f;
		next if $op == 0x9 || $op == 0xa;
		die "cdp.pl: closed by Chromium\n" if $op == 0x8;
		$msg .= $data;
		return $msg if $b0 & 0x80;
	}
}

ws_send(encode_json({ id => 1, method => 'Runtime.evaluate',
	params => { expression => $expr, returnByValue => JSON::PP::true } }));
for (;;) {
	my $m = decode_json(ws_recv());
	next unless ($m->{id} // 0) == 1;
	if ($m->{error} || $m->{result}{exceptionDetails}) {
		die "cdp.pl: " . encode_json($m->{error}
			// $m->{result}{exceptionDetails}) . "\n";
	}
	my $v = $m->{result}{result}{value};
	$v = $v ? 'true' : 'false' if JSON::PP::is_bool($v);
	binmode STDOUT, ':encoding(UTF-8)';
	print defined $v ? $v : '', "\n";
	last;
}
close $ws;
