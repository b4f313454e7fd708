from supportpulse.cli.main import main

main()
