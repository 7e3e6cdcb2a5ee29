// The baseline of `make bench`'s idle memory lines: Node running a TypeScript file that loads nothing.
setInterval(() => {}, 60_000);
process.stdout.write('ready\n');
