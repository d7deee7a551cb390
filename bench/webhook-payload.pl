#!/usr/bin/perl
# webhook-payload.pl - a realistic GitHub push payload for bench/webhook.sh.
#
#   perl bench/webhook-payload.pl FIXTURE CLONE_URL PROJECT > push.json
#
# FIXTURE is tests/cases/webhooks/github-push.json (the shape of GitHub's
# documented push event, 2.5 KB, one commit, the repository object cut
# down to the fields scaffold reads).  A real delivery is bigger: GitHub
# sends the repository with its ~45 API URL templates and the counters,
# the owner, organization and sender with their URL fields, and every
# pushed commit.  This fills the fixture's placeholders and adds those
# fields and two more commits, which brings it to 8.5 KB of compact JSON
# (as GitHub sends it), the size of a push of three commits to an
# organization's repository.  The output is deterministic (no clock, no
# PRNG); the fields scaffold uses (ref, after, the repository's clone_url
# and full_name) are the fixture's.
use strict;
use warnings;
use Digest::SHA qw(sha1_hex);
use JSON::PP ();

@ARGV == 3 or die "usage: $0 FIXTURE CLONE_URL PROJECT\n";
my ($fixture, $clone, $project) = @ARGV;
my ($owner, $name) = split m{/}, $project, 2;
defined $name or die "$0: PROJECT must be OWNER/NAME\n";

open my $fh, '<', $fixture or die "$0: $fixture: $!\n";
my $t = do { local $/; <$fh> };
close $fh;

# three commits: the fixture's one is the last (head_commit)
my @sha = map { sha1_hex("commit $_") } 1 .. 3;
my $before = sha1_hex('commit 0');
my %sub = (
	REF       => 'refs/heads/main',
	BEFORE    => $before,
	AFTER     => $sha[-1],
	CLONE_URL => $clone,
	PROJECT   => $project,
);
$t =~ s/\@([A-Z_]+)\@/exists $sub{$1} ? $sub{$1} : die "unknown \@$1\@\n"/ge;
my $json = JSON::PP->new->utf8->canonical;
my $p = $json->decode($t);

my $api = "https://api.github.com/repos/$project";
my $r = $p->{repository};
$r->{$_ . '_url'} = "$api/$_"
    for qw(forks events hooks issue_events assignees branches tags
    languages stargazers contributors subscribers subscription merges
    downloads deployments teams);
$r->{$_ . '_url'} = "$api/$_\{/" . ($_ eq 'keys' ? 'key_id' : 'sha') . '}'
    for qw(keys statuses);
$r->{collaborators_url} = "$api/collaborators{/collaborator}";
$r->{blobs_url}         = "$api/git/blobs{/sha}";
$r->{git_tags_url}      = "$api/git/tags{/sha}";
$r->{git_refs_url}      = "$api/git/refs{/sha}";
$r->{trees_url}         = "$api/git/trees{/sha}";
$r->{git_commits_url}   = "$api/git/commits{/sha}";
$r->{commits_url}       = "$api/commits{/sha}";
$r->{comments_url}      = "$api/comments{/number}";
$r->{issue_comment_url} = "$api/issues/comments{/number}";
$r->{contents_url}      = "$api/contents/{+path}";
$r->{compare_url}       = "$api/compare/{base}...{head}";
$r->{archive_url}       = "$api/{archive_format}{/ref}";
$r->{issues_url}        = "$api/issues{/number}";
$r->{pulls_url}         = "$api/pulls{/number}";
$r->{milestones_url}    = "$api/milestones{/number}";
$r->{labels_url}        = "$api/labels{/name}";
$r->{releases_url}      = "$api/releases{/id}";
$r->{notifications_url} = "$api/notifications{?since,all,participating}";
$r->{$_} = JSON::PP::true
    for qw(has_issues has_projects has_downloads has_wiki);
$r->{$_} = JSON::PP::false
    for qw(has_pages has_discussions archived disabled is_template);
$r->{$_} = 0
    for qw(stargazers_count watchers_count forks_count open_issues_count
    forks open_issues watchers stargazers);
$r->{language}   = 'Shell';
$r->{mirror_url} = undef;
$r->{license}    = undef;
$r->{topics}     = [qw(gitops infrastructure)];
$r->{visibility} = 'private';
$r->{allow_forking}               = JSON::PP::false;
$r->{web_commit_signoff_required} = JSON::PP::false;

sub user_urls {
	my ($u, $login) = @_;
	my $b = "https://api.github.com/users/$login";
	$u->{node_id}             = 'MDQ6VXNlcj' . length $login;
	$u->{avatar_url}          = "https://avatars.githubusercontent.com/u/$u->{id}?v=4";
	$u->{gravatar_id}         = '';
	$u->{url}                 = $b;
	$u->{html_url}            = "https://github.com/$login";
	$u->{followers_url}       = "$b/followers";
	$u->{following_url}       = "$b/following{/other_user}";
	$u->{gists_url}           = "$b/gists{/gist_id}";
	$u->{starred_url}         = "$b/starred{/owner}{/repo}";
	$u->{subscriptions_url}   = "$b/subscriptions";
	$u->{organizations_url}   = "$b/orgs";
	$u->{repos_url}           = "$b/repos";
	$u->{events_url}          = "$b/events{/privacy}";
	$u->{received_events_url} = "$b/received_events";
}
user_urls($r->{owner}, $owner);
user_urls($p->{sender}, $p->{sender}{login});
my $o = $p->{organization};
my $ob = "https://api.github.com/orgs/$owner";
$o->{node_id}           = 'MDEyOk9yZ2FuaXphdGlvbjIxMDMxMDY3';
$o->{url}               = $ob;
$o->{repos_url}         = "$ob/repos";
$o->{events_url}        = "$ob/events";
$o->{hooks_url}         = "$ob/hooks";
$o->{issues_url}        = "$ob/issues";
$o->{members_url}       = "$ob/members{/member}";
$o->{public_members_url} = "$ob/public_members{/member}";
$o->{avatar_url}        = "https://avatars.githubusercontent.com/u/$o->{id}?v=4";
$o->{description}       = 'Acme operations';

# the two earlier commits, shaped like the fixture's
my $head = $p->{commits}[0];
my @msgs = ("db: raise the connection pool to 40\n\nThe nightly batch "
	    . 'ran out of connections twice this week.',
	"ops: rotate the backup window to 02:00 UTC");
my @files = ([qw(.scaffold/db.yaml)], [qw(.scaffold/ops.yaml ops/backup.sh)]);
my @commits;
for my $i (0, 1) {
	my %c = %$head;
	$c{id}        = $sha[$i];
	$c{tree_id}   = sha1_hex("tree $i");
	$c{message}   = $msgs[$i];
	$c{timestamp} = sprintf '2026-11-22T11:%02d:00Z', 40 + 10 * $i;
	$c{url}       = "https://github.com/$project/commit/$sha[$i]";
	$c{modified}  = $files[$i];
	push @commits, \%c;
}
$p->{commits} = [@commits, $head];

print $json->encode($p);
